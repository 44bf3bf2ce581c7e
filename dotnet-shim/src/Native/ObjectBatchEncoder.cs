using System;
using System.Collections;
using System.Collections.Generic;
using System.Management.Automation;
using System.Text;

namespace MailAccessForensics.Native
{
    /// <summary>
    /// Writes pipeline objects in the engine's neutral object-batch encoding (see
    /// rust/engine/src/input/tree.rs): values, lists and maps, no JSON and no knowledge of record
    /// shapes. The engine decides what each object is.
    /// </summary>
    internal sealed class ObjectBatchEncoder
    {
        /// <summary>
        /// Deeper values are sent as unreadable. The engine refuses records nested deeper than 128
        /// levels whichever way they arrive (a file, text, an object), so objects are sent that
        /// deep and one level more: a cycle, or a deeper object, is then refused as too deep.
        /// </summary>
        internal const int MaxDepth = 128;

        /// <summary>
        /// An object holding more values than this is not an audit record (an object graph that
        /// fans out, such as a hashtable holding itself twice): it is sent as unreadable instead
        /// of walked on. A record with 100,000 folders holds a few hundred thousand; the largest
        /// record the engine reads as JSON text (16 MiB) fewer than three million.
        /// </summary>
        internal const int MaxObjectValues = 4_000_000;

        /// <summary>
        /// An object carrying its record in this property (Search-UnifiedAuditLog output, CSV
        /// rows of its exports) is sent as that property alone: reading one property costs a
        /// fraction of walking them all, and the AuditData holds every field of the record.
        /// </summary>
        internal const string RecordProperty = "AuditData";

        /// <summary>
        /// Sent beside <see cref="RecordProperty"/>: the record's place in its query's results,
        /// which tells a query cut at a page or session limit (Search-UnifiedAuditLog output and
        /// its Export-Csv rows carry them).
        /// </summary>
        private static readonly string[] ResultPositionProperties = { "ResultIndex", "ResultCount" };

        /// <summary>
        /// The module's own records (ConvertFrom-MailItemsAccessed output, also after Export-Clixml
        /// and Import-Clixml) are sent as a map with this one key holding their properties: the
        /// engine reads them back as the records they are, not as an audit record to interpret.
        /// </summary>
        internal static readonly string ModuleRecordType = typeof(MailAccessRecord).FullName ?? nameof(MailAccessRecord);
        private static readonly string DeserializedModuleRecordType = "Deserialized." + ModuleRecordType;

        // Lone surrogates are invalid UTF-16: an error for the record, not a silent U+FFFD.
        private static readonly UTF8Encoding StrictUtf8 = new UTF8Encoding(false, throwOnInvalidBytes: true);

        private byte[] _buffer;
        private int _length;
        // Values written for the object being added, for MaxObjectValues.
        private int _objectValues;

        internal ObjectBatchEncoder(int initialCapacity = 1 << 16)
        {
            _buffer = new byte[initialCapacity];
        }

        internal byte[] Buffer => _buffer;
        internal int Length => _length;
        internal int Count { get; private set; }

        internal void Clear()
        {
            _length = 0;
            Count = 0;
        }

        /// <summary>Adds one pipeline object as one top-level node.</summary>
        internal void AddObject(object? input)
        {
            Count++;
            int start = _length;
            _objectValues = 0;
            try
            {
                AddObjectCore(input);
            }
            catch (ObjectTooLargeException)
            {
                _length = start;
                WriteUnreadable(UnreadableReason.TooLarge, $"the object holds more than {MaxObjectValues.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} values, which is larger than any audit record");
            }
            catch (Exception e) when (IsValueFault(e))
            {
                // Whatever was half written goes: the object is one unreadable node.
                _length = start;
                WriteUnreadable(UnreadableReason.ReadFailed, $"the object could not be read: {e.Message}");
            }
        }

        /// <summary>
        /// Faults of the objects themselves (a property getter, an enumerator, a ToString that
        /// throws: code outside this assembly), as opposed to the pipeline stopping, the process
        /// running out of memory, an object too large to be a record, or a fault of the encoder
        /// itself (thrown by this assembly's code), which must not pass for an unreadable record.
        /// </summary>
        private static bool IsValueFault(Exception e)
        {
            // An object too large for any batch is the object's fault, though the encoder says so.
            return e is BatchFullException
                || (!(e is OutOfMemoryException) && !(e is PipelineStoppedException) && !(e is System.Threading.ThreadAbortException)
                    && !(e is ObjectTooLargeException) && !ThrownHere(e));
        }

        private static bool ThrownHere(Exception e)
        {
            // TargetSite is the method that threw; unknown (null) is taken as the object's.
            return e.TargetSite?.DeclaringType?.Assembly == typeof(ObjectBatchEncoder).Assembly;
        }

        /// <summary>Raised when the batch would pass 2 GB.</summary>
        private sealed class BatchFullException : InvalidOperationException
        {
            internal BatchFullException(string message) : base(message)
            {
            }
        }

        /// <summary>Raised when one object passes MaxObjectValues.</summary>
        private sealed class ObjectTooLargeException : Exception
        {
        }

        private void AddObjectCore(object? input)
        {
            PSObject? moduleRecord = AsModuleRecord(input);
            if (moduleRecord != null)
            {
                WriteTag(ObjectBatchTag.Map);
                WriteInt32(1);
                WriteKey(ModuleRecordType);
                WriteProperties(moduleRecord, 1, ModuleRecordType);
                return;
            }
            if (input is PSObject pso && pso.BaseObject is PSCustomObject)
            {
                PSPropertyInfo recordProperty = pso.Properties[RecordProperty];
                if (recordProperty != null && Unwrap(SafeValue(recordProperty, out _)) is string text)
                {
                    WriteTag(ObjectBatchTag.Map);
                    int countAt = Reserve(4);
                    WriteKey(RecordProperty);
                    WriteString(text, RecordProperty);
                    int count = 1;
                    foreach (string name in ResultPositionProperties)
                    {
                        PSPropertyInfo property = pso.Properties[name];
                        object? value = property == null ? null : Unwrap(SafeValue(property, out _));
                        if (value is int || value is long || value is string)
                        {
                            WriteKey(name);
                            WriteValue(value, 1, name);
                            count++;
                        }
                    }
                    Patch(countAt, count);
                    return;
                }
            }
            WriteValue(input, 0, "the object", topLevel: true);
        }

        /// <summary>The object as a module record to send, or null when it is not one.</summary>
        private static PSObject? AsModuleRecord(object? input)
        {
            object? value = input is PSObject wrapper ? wrapper.BaseObject : input;
            if (value is MailAccessRecord record)
            {
                return PSObject.AsPSObject(record);
            }
            if (input is PSObject pso && pso.BaseObject is PSCustomObject && pso.TypeNames.Count > 0
                && string.Equals(pso.TypeNames[0], DeserializedModuleRecordType, StringComparison.Ordinal))
            {
                return pso;
            }
            return null;
        }

        /// <summary>
        /// Adds an object with every property, as it is (the records a collection writes are the
        /// service's objects whole, not only their AuditData).
        /// </summary>
        internal void AddWholeObject(object input)
        {
            Count++;
            int start = _length;
            try
            {
                WriteValue(input, 0, "the object", topLevel: true);
            }
            catch (Exception e) when (IsValueFault(e))
            {
                _length = start;
                WriteUnreadable(UnreadableReason.ReadFailed, $"the object could not be read: {e.Message}");
            }
        }

        /// <summary>
        /// Adds an object for a report: <c>{Type: its first type name, Properties: its properties}</c>,
        /// without the properties named in <paramref name="skip"/>. Unlike a record, any object is
        /// walked (the module's own results are .NET objects), and so are the module's objects
        /// inside it that are marked [ReportedAsObject] (a finding's evidence, a run's inputs).
        /// </summary>
        internal void AddTypedObject(PSObject item, ICollection<string>? skip = null)
        {
            Count++;
            int start = _length;
            _objectValues = 0;
            try
            {
                WriteTag(ObjectBatchTag.Map);
                WriteInt32(2);
                WriteKey("Type");
                WriteString(item.TypeNames.Count > 0 ? item.TypeNames[0] : item.BaseObject.GetType().FullName ?? item.BaseObject.GetType().Name, "Type");
                WriteKey("Properties");
                WriteProperties(item, 0, "the object", skip);
            }
            catch (Exception e) when (IsValueFault(e))
            {
                _length = start;
                WriteUnreadable(UnreadableReason.ReadFailed, $"the object could not be read: {e.Message}");
            }
        }

        /// <summary>A map of options for the engine (session settings).</summary>
        internal void AddMap(IDictionary values)
        {
            Count++;
            _objectValues = 0;
            WriteValue(values, 0, "options", topLevel: true);
        }

        private static object? Unwrap(object? value)
        {
            // A PSObject around a PSCustomObject is the object; around anything else, a wrapper.
            if (value is PSObject pso && !(pso.BaseObject is PSCustomObject))
            {
                return pso.BaseObject;
            }
            return value;
        }

        private static object? SafeValue(PSPropertyInfo property, out string? failure)
        {
            try
            {
                failure = null;
                return property.Value;
            }
            catch (Exception e) when (e is GetValueException || e is ExtendedTypeSystemException || e is InvalidOperationException)
            {
                failure = e.Message;
                return null;
            }
        }

        private void WriteValue(object? raw, int depth, string path, bool topLevel = false)
        {
            if (++_objectValues > MaxObjectValues)
            {
                throw new ObjectTooLargeException();
            }
            int start = _length;
            try
            {
                WriteValueCore(raw, depth, path, topLevel);
            }
            catch (Exception e) when (IsValueFault(e))
            {
                // An enumerator or ToString that throws spoils only this value.
                _length = start;
                WriteUnreadable(UnreadableReason.ReadFailed, $"{path} could not be read: {e.Message}");
            }
        }

        private void WriteValueCore(object? raw, int depth, string path, bool topLevel)
        {
            if (depth > MaxDepth)
            {
                WriteUnreadable(UnreadableReason.TooDeep, $"{path} is nested deeper than {MaxDepth} levels");
                return;
            }
            object? value = Unwrap(raw);
            switch (value)
            {
                case null:
                    WriteTag(ObjectBatchTag.Null);
                    return;
                case string s:
                    WriteString(s, path);
                    return;
                case bool b:
                    WriteTag(b ? ObjectBatchTag.True : ObjectBatchTag.False);
                    return;
                case int i: WriteInt(i); return;
                case long l: WriteInt(l); return;
                case short sh: WriteInt(sh); return;
                case sbyte sb: WriteInt(sb); return;
                case byte by: WriteInt(by); return;
                case ushort us: WriteInt(us); return;
                case uint ui: WriteInt(ui); return;
                case ulong ul:
                    if (ul <= long.MaxValue) WriteInt((long)ul); else WriteFloat(ul);
                    return;
                case double d: WriteFloat(d); return;
                case float f: WriteFloat(f); return;
                case decimal m: WriteFloat((double)m); return;
                case DateTime dt:
                    // Local times are converted; Unspecified is taken as UTC, as audit tools mean it.
                    WriteDateTime(dt.Kind == DateTimeKind.Local ? dt.ToUniversalTime().Ticks : dt.Ticks);
                    return;
                case DateTimeOffset dto:
                    WriteDateTime(dto.UtcTicks);
                    return;
                case char c: WriteString(c.ToString(), path); return;
                case Guid g: WriteString(g.ToString(), path); return;
                case Enum e: WriteString(e.ToString(), path); return;
                case MailAccessItem _:
                case MailAccessFolder _:
                    // The parts of a module record are sent whole, as its properties.
                    WriteProperties(PSObject.AsPSObject(value), depth, path);
                    return;
                case IDictionary dictionary:
                    WriteDictionary(dictionary, depth, path);
                    return;
                case IEnumerable<KeyValuePair<string, object>> pairs:
                    // Dictionaries that are only generic (ExpandoObject, IDictionary<string, object>).
                    WritePairs(pairs, depth);
                    return;
                case PSObject customObject:
                    WriteProperties(customObject, depth, path);
                    return;
                case IEnumerable sequence:
                    WriteList(sequence, depth, path);
                    return;
                default:
                    if (topLevel || value.GetType().IsDefined(typeof(ReportedAsObjectAttribute), false))
                    {
                        WriteProperties(PSObject.AsPSObject(value), depth, path);
                    }
                    else
                    {
                        // A ToString that returns null gives the value no text: it is sent as null.
                        string? text = value.ToString();
                        if (text == null)
                        {
                            WriteTag(ObjectBatchTag.Null);
                        }
                        else
                        {
                            WriteString(text, path);
                        }
                    }
                    return;
            }
        }

        private void WriteDictionary(IDictionary dictionary, int depth, string path)
        {
            WriteTag(ObjectBatchTag.Map);
            int countAt = Reserve(4);
            int count = 0;
            foreach (DictionaryEntry entry in dictionary)
            {
                string key = entry.Key?.ToString() ?? string.Empty;
                WriteKey(key);
                WriteValue(entry.Value, depth + 1, key);
                count++;
            }
            Patch(countAt, count);
        }

        private void WritePairs(IEnumerable<KeyValuePair<string, object>> pairs, int depth)
        {
            WriteTag(ObjectBatchTag.Map);
            int countAt = Reserve(4);
            int count = 0;
            foreach (KeyValuePair<string, object> pair in pairs)
            {
                string key = pair.Key ?? string.Empty;
                WriteKey(key);
                WriteValue(pair.Value, depth + 1, key);
                count++;
            }
            Patch(countAt, count);
        }

        private void WriteProperties(PSObject pso, int depth, string path, ICollection<string>? skip = null)
        {
            WriteTag(ObjectBatchTag.Map);
            int countAt = Reserve(4);
            int count = 0;
            foreach (PSPropertyInfo property in pso.Properties)
            {
                if (skip != null && skip.Contains(property.Name))
                {
                    continue;
                }
                WriteKey(property.Name);
                object? value = SafeValue(property, out string? failure);
                if (failure != null)
                {
                    WriteUnreadable(UnreadableReason.ReadFailed, $"property {property.Name} could not be read: {failure}");
                }
                else
                {
                    WriteValue(value, depth + 1, property.Name);
                }
                count++;
            }
            Patch(countAt, count);
        }

        private void WriteList(IEnumerable sequence, int depth, string path)
        {
            WriteTag(ObjectBatchTag.List);
            int countAt = Reserve(4);
            int count = 0;
            foreach (object item in sequence)
            {
                WriteValue(item, depth + 1, path);
                count++;
            }
            Patch(countAt, count);
        }

        private void WriteString(string value, string path)
        {
            // Worst case 3 bytes per UTF-16 unit; the length is written after the bytes.
            EnsureCapacity(5 + value.Length * 3);
            int start = _length;
            _buffer[_length++] = (byte)ObjectBatchTag.String;
            _length += 4;
            try
            {
                int written = StrictUtf8.GetBytes(value, 0, value.Length, _buffer, _length);
                WriteInt32At(start + 1, written);
                _length += written;
            }
            catch (EncoderFallbackException e)
            {
                _length = start;
                WriteUnreadable(UnreadableReason.InvalidUtf16, $"invalid UTF-16 in {path}: unpaired surrogate at character {e.Index}");
            }
        }

        private void WriteKey(string key)
        {
            // Keys are only matched against names the engine knows: a replaced character in
            // a key only makes it not match.
            EnsureCapacity(4 + key.Length * 3);
            int lengthAt = _length;
            _length += 4;
            int written = Encoding.UTF8.GetBytes(key, 0, key.Length, _buffer, _length);
            WriteInt32At(lengthAt, written);
            _length += written;
        }

        /// <summary>
        /// A value that could not be read: the engine decides the record error's kind from the
        /// <paramref name="reason"/> code; <paramref name="words"/> is only shown to the user.
        /// </summary>
        private void WriteUnreadable(UnreadableReason reason, string words)
        {
            EnsureCapacity(9 + words.Length * 3);
            _buffer[_length++] = (byte)ObjectBatchTag.Unreadable;
            WriteInt32At(_length, (int)reason);
            _length += 4;
            int lengthAt = _length;
            _length += 4;
            int written = Encoding.UTF8.GetBytes(words, 0, words.Length, _buffer, _length);
            WriteInt32At(lengthAt, written);
            _length += written;
        }

        private void WriteInt(long value)
        {
            WriteTag(ObjectBatchTag.Int);
            WriteInt64(value);
        }

        private void WriteFloat(double value)
        {
            WriteTag(ObjectBatchTag.Float);
            WriteInt64(BitConverter.DoubleToInt64Bits(value));
        }

        private void WriteDateTime(long ticks)
        {
            WriteTag(ObjectBatchTag.DateTime);
            WriteInt64(ticks);
        }

        private void WriteTag(ObjectBatchTag tag)
        {
            EnsureCapacity(1);
            _buffer[_length++] = (byte)tag;
        }

        private int Reserve(int bytes)
        {
            EnsureCapacity(bytes);
            int at = _length;
            _length += bytes;
            return at;
        }

        private void Patch(int at, int count) => WriteInt32At(at, count);

        private void WriteInt32(int value)
        {
            EnsureCapacity(4);
            WriteInt32At(_length, value);
            _length += 4;
        }

        private void WriteInt32At(int at, int value)
        {
            _buffer[at] = (byte)value;
            _buffer[at + 1] = (byte)(value >> 8);
            _buffer[at + 2] = (byte)(value >> 16);
            _buffer[at + 3] = (byte)(value >> 24);
        }

        private void WriteInt64(long value)
        {
            EnsureCapacity(8);
            for (int i = 0; i < 8; i++)
            {
                _buffer[_length++] = (byte)(value >> (8 * i));
            }
        }

        private void EnsureCapacity(int extra)
        {
            long needed = (long)_length + extra;
            if (needed <= _buffer.Length)
            {
                return;
            }
            if (needed > int.MaxValue - 64)
            {
                throw new BatchFullException("a batch of pipeline objects exceeds 2 GB");
            }
            long size = Math.Max(needed, (long)_buffer.Length * 2);
            Array.Resize(ref _buffer, (int)Math.Min(size, int.MaxValue - 64));
        }
    }
}
