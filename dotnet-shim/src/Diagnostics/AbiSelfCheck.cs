#if NET
using System;
using System.Buffers;
using System.Collections;
using System.Globalization;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using MailAccessForensics.Native;

namespace MailAccessForensics.Diagnostics
{
    /// <summary>
    /// Entry points for rust/dotnet-check, which hosts .NET from Rust (netcorehost), loads this
    /// assembly and compares what the C# side believes about the C ABI with what Rust compiled:
    /// the layout of every generated struct, the constants, and one record's round trip through
    /// the native library. Not part of the module's surface; nothing here touches
    /// System.Management.Automation (not loadable in that host).
    /// </summary>
    /// <remarks>
    /// Each entry point writes UTF-8 text into the caller's buffer (up to <c>capacity</c> bytes)
    /// and returns the text's full length: the caller calls again with a larger buffer when the
    /// result exceeds <c>capacity</c>. No exception leaves an entry point (it would end the
    /// process): a failure is reported as text starting with <c>error</c>.
    /// </remarks>
    internal static unsafe class AbiSelfCheck
    {
        private const string NativeNamespace = "MailAccessForensics.Native";

        /// <summary>
        /// One line per struct of NativeMethods.g.cs and per field, tab-separated:
        /// <c>struct NAME SIZE MANAGED_SIZE</c> (Marshal.SizeOf, and the size pointer arithmetic
        /// uses), <c>field NAME.FIELD OFFSET SIZE</c>; then <c>const NAME VALUE</c> for the
        /// generated constants and <c>enum NAME.MEMBER VALUE</c> for the generated enums.
        /// </summary>
        [UnmanagedCallersOnly]
        internal static int StructLayouts(byte* buffer, int capacity)
        {
            string text;
            try
            {
                text = DescribeLayouts();
            }
            catch (Exception e)
            {
                text = "error\t" + e;
            }
            return Write(text, buffer, capacity);
        }

        /// <summary>
        /// Ingests one JSON record (UTF-8) through the native library, as a batch holding one
        /// string node built here by hand, and returns what came back as JSON text:
        /// <c>{"library": path, "failures": [...], "records": [{property: value, ...}]}</c>, every
        /// property of each MailAccessRecord. <paramref name="nativeLibrary"/> (UTF-8, may be
        /// empty) is put in MAILACCESSFORENSICS_NATIVE_LIBRARY before the library is loaded.
        /// </summary>
        [UnmanagedCallersOnly]
        internal static int IngestJson(byte* json, int jsonLength, byte* nativeLibrary, int nativeLibraryLength, byte* buffer, int capacity)
        {
            string text;
            try
            {
                string? library = nativeLibraryLength > 0 ? Encoding.UTF8.GetString(nativeLibrary, nativeLibraryLength) : null;
                text = Ingest(new ReadOnlySpan<byte>(json, jsonLength), library);
            }
            catch (Exception e)
            {
                text = "error\t" + e;
            }
            return Write(text, buffer, capacity);
        }

        private static int Write(string text, byte* buffer, int capacity)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(text);
            if (buffer != null && capacity > 0)
            {
                Marshal.Copy(bytes, 0, (IntPtr)buffer, Math.Min(bytes.Length, capacity));
            }
            return bytes.Length;
        }

        private static string DescribeLayouts()
        {
            var text = new StringBuilder();
            Type[] types = LoadableTypes()
                .Where(t => t.Name.StartsWith("Maf", StringComparison.Ordinal) && !t.IsNested && t.Namespace == NativeNamespace)
                .OrderBy(t => t.Name, StringComparer.Ordinal)
                .ToArray();
            MethodInfo managedSize = typeof(Unsafe).GetMethod(nameof(Unsafe.SizeOf)) ?? throw new MissingMethodException(nameof(Unsafe), nameof(Unsafe.SizeOf));
            foreach (Type type in types.Where(t => t.IsValueType && !t.IsEnum))
            {
                int size = Marshal.SizeOf(type);
                int pointerSize = (int)(managedSize.MakeGenericMethod(type).Invoke(null, null) ?? throw new InvalidOperationException($"Unsafe.SizeOf<{type.Name}> returned nothing."));
                text.Append("struct\t").Append(type.Name).Append('\t').Append(size).Append('\t').Append(pointerSize).Append('\n');
                foreach (FieldInfo field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
                {
                    int offset = (int)Marshal.OffsetOf(type, field.Name);
                    int fieldSize = field.FieldType.IsPointer ? IntPtr.Size : Marshal.SizeOf(field.FieldType);
                    text.Append("field\t").Append(type.Name).Append('.').Append(field.Name).Append('\t')
                        .Append(offset).Append('\t').Append(fieldSize).Append('\n');
                }
            }
            foreach (FieldInfo constant in typeof(NativeMethods).GetFields(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
                .Where(f => f.IsLiteral)
                .OrderBy(f => f.Name, StringComparer.Ordinal))
            {
                if (constant.FieldType == typeof(string))
                {
                    continue; // the library name, not part of the ABI's values
                }
                text.Append("const\t").Append(constant.Name).Append('\t')
                    .Append(Convert.ToString(constant.GetRawConstantValue(), CultureInfo.InvariantCulture)).Append('\n');
            }
            foreach (Type type in types.Where(t => t.IsEnum))
            {
                foreach (FieldInfo member in type.GetFields(BindingFlags.Static | BindingFlags.Public))
                {
                    text.Append("enum\t").Append(type.Name).Append('.').Append(member.Name).Append('\t')
                        .Append(Convert.ToString(member.GetRawConstantValue(), CultureInfo.InvariantCulture)).Append('\n');
                }
            }
            return text.ToString();
        }

        /// <summary>
        /// The assembly's types that load in this host: the cmdlets derive from PowerShell types,
        /// which are not there, and are left out.
        /// </summary>
        private static Type[] LoadableTypes()
        {
            try
            {
                return typeof(NativeMethods).Assembly.GetTypes();
            }
            catch (ReflectionTypeLoadException e)
            {
                return e.Types.OfType<Type>().ToArray();
            }
        }

        private static string Ingest(ReadOnlySpan<byte> json, string? nativeLibrary)
        {
            if (nativeLibrary != null)
            {
                Environment.SetEnvironmentVariable(NativeLibraryLoader.OverrideVariable, nativeLibrary);
            }
            NativeLibraryLoader.EnsureLoaded();

            // Session options: a map { ReturnRecords: true } in the object-batch encoding.
            var options = new BatchBytes();
            options.Tag(8).UInt32(1).Key("ReturnRecords").Tag(2);
            // The batch: one top-level string node (AuditData JSON text).
            var batch = new BatchBytes();
            batch.Tag(5).UInt32((uint)json.Length).Bytes(json);

            BatchResult result;
            using (SessionHandle session = SessionHandle.Create(options.ToArray(), options.Length))
            {
                byte[] bytes = batch.ToArray();
                result = session.Ingest(bytes, bytes.Length, 0, _ => throw new InvalidOperationException("The self-check reads no file."));
            }

            var output = new ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true }))
            {
                writer.WriteStartObject();
                writer.WriteString("library", NativeLibraryLoader.ResolvedPath);
                writer.WriteStartArray("failures");
                foreach (RecordFailure failure in result.Failures)
                {
                    WriteValue(writer, failure);
                }
                writer.WriteEndArray();
                writer.WriteStartArray("records");
                foreach (MailAccessRecord record in result.Records)
                {
                    WriteValue(writer, record);
                }
                writer.WriteEndArray();
                writer.WriteEndObject();
            }
            return Encoding.UTF8.GetString(output.WrittenSpan);
        }

        /// <summary>
        /// A value as JSON: every property (or field, for the internal RecordFailure) of an
        /// object, public or internal, so that a property added to MailAccessRecord shows up on
        /// the Rust side; dates as their kind and ticks.
        /// </summary>
        private static void WriteValue(Utf8JsonWriter writer, object? value)
        {
            switch (value)
            {
                case null:
                    writer.WriteNullValue();
                    return;
                case string s:
                    writer.WriteStringValue(s);
                    return;
                case bool b:
                    writer.WriteBooleanValue(b);
                    return;
                case int i:
                    writer.WriteNumberValue(i);
                    return;
                case long l:
                    writer.WriteNumberValue(l);
                    return;
                case Enum e:
                    writer.WriteStringValue(e.ToString());
                    return;
                case DateTime time:
                    writer.WriteStartObject();
                    writer.WriteString("Kind", time.Kind.ToString());
                    writer.WriteNumber("Ticks", time.Ticks);
                    writer.WriteEndObject();
                    return;
                case IEnumerable list:
                    writer.WriteStartArray();
                    foreach (object item in list)
                    {
                        WriteValue(writer, item);
                    }
                    writer.WriteEndArray();
                    return;
            }
            const BindingFlags members = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;
            writer.WriteStartObject();
            foreach (PropertyInfo property in value.GetType().GetProperties(members).OrderBy(p => p.Name, StringComparer.Ordinal))
            {
                writer.WritePropertyName(property.Name);
                WriteValue(writer, property.GetValue(value));
            }
            foreach (FieldInfo field in value.GetType().GetFields(members)
                .Where(f => !f.IsDefined(typeof(CompilerGeneratedAttribute)))
                .OrderBy(f => f.Name, StringComparer.Ordinal))
            {
                writer.WritePropertyName(field.Name);
                WriteValue(writer, field.GetValue(value));
            }
            writer.WriteEndObject();
        }

        /// <summary>Object-batch bytes written by hand (see rust/engine/src/input/tree.rs).</summary>
        private sealed class BatchBytes
        {
            private byte[] _bytes = new byte[64];

            internal int Length { get; private set; }

            internal BatchBytes Tag(byte tag) => Bytes(new[] { tag });

            internal BatchBytes UInt32(uint value)
            {
                Span<byte> le = stackalloc byte[4];
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(le, value);
                return Bytes(le);
            }

            internal BatchBytes Key(string key)
            {
                byte[] utf8 = Encoding.UTF8.GetBytes(key);
                return UInt32((uint)utf8.Length).Bytes(utf8);
            }

            internal BatchBytes Bytes(ReadOnlySpan<byte> bytes)
            {
                if (Length + bytes.Length > _bytes.Length)
                {
                    Array.Resize(ref _bytes, Math.Max(_bytes.Length * 2, Length + bytes.Length));
                }
                bytes.CopyTo(_bytes.AsSpan(Length));
                Length += bytes.Length;
                return this;
            }

            internal byte[] ToArray() => _bytes.AsSpan(0, Length).ToArray();
        }
    }
}
#endif
