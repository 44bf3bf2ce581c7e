using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Management.Automation;
using System.Threading.Tasks;
using MailAccessForensics.Native;

namespace MailAccessForensics.Commands
{
    /// <summary>
    /// Base of every cmdlet that reads MailItemsAccessed records. It binds pipeline objects,
    /// hands them to the engine in batches (the engine reads a batch on another thread while
    /// PowerShell binds the next objects), reports malformed records as non-terminating
    /// errors, and keeps the tally.
    /// </summary>
    public abstract class MailAccessInputCommand : PSCmdlet, IDisposable
    {
        internal const string InputObjectSet = "InputObject";

        // A batch is sent when either bound is reached; both keep a batch's native call short
        // enough for Ctrl+C to be prompt.
        private const int BatchObjectLimit = 4096;
        private const int BatchByteLimit = 8 << 20;

        private SessionHandle _session;
        private ObjectBatchEncoder _filling = new ObjectBatchEncoder();
        private ObjectBatchEncoder _spare;
        private List<PSObject> _fillingInputs = new List<PSObject>();
        private long _nextIndex;
        private PendingBatch _inFlight;
        private bool _disposed;

        /// <summary>
        /// An audit record from the pipeline: a Search-UnifiedAuditLog result, an Import-Csv row of
        /// an audit export, a Search-MailboxAuditLog record, a Graph, Sentinel or Defender record,
        /// AuditData as an object, or AuditData JSON text.
        /// </summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = InputObjectSet)]
        [AllowNull]
        [AllowEmptyString]
        public PSObject InputObject { get; set; }

        /// <summary>
        /// Name of a variable that receives the InputSummary of the run (records read,
        /// analysed, skipped, duplicates, errors), for scripts that check the accounting.
        /// </summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string SummaryVariable { get; set; }

        /// <summary>True when the cmdlet wants each analysed record back (ConvertFrom).</summary>
        private protected virtual bool ReturnRecords => false;

        /// <summary>Receives analysed records in input order when <see cref="ReturnRecords"/>.</summary>
        private protected virtual void OnRecord(MailAccessRecord record)
        {
        }

        /// <summary>Runs after every input was read; analysis cmdlets write their results here.</summary>
        private protected virtual void OnInputComplete(SessionHandle session)
        {
        }

        /// <summary>Extra session options (analysis cmdlets add their filters).</summary>
        private protected virtual void AddSessionOptions(IDictionary options)
        {
        }

        protected override void BeginProcessing()
        {
            NativeLibraryLoader.EnsureLoaded();
            var options = new Hashtable
            {
                ["ReturnRecords"] = ReturnRecords,
                ["DayFirstDates"] = CultureWritesDayFirst(CultureInfo.CurrentCulture),
            };
            AddSessionOptions(options);
            var encoder = new ObjectBatchEncoder(256);
            encoder.AddMap(options);
            try
            {
                _session = SessionHandle.Create(encoder.Buffer, encoder.Length);
            }
            catch (NativeCallException e)
            {
                // Bad parameter values (an address that is not one, dates in the wrong order).
                ThrowTerminatingError(new ErrorRecord(new ArgumentException(e.Message, e), "MailAccessForensics.InvalidArgument", ErrorCategory.InvalidArgument, null));
            }
        }

        protected override void ProcessRecord()
        {
            // -InputObject $records binds the whole collection at once: read its elements, as
            // the pipeline would have delivered them. (A collection is never a record itself.)
            if (InputObject?.BaseObject is IList list && !(InputObject.BaseObject is IDictionary))
            {
                foreach (object element in list)
                {
                    AddInput(element == null ? null : PSObject.AsPSObject(element));
                }
            }
            else
            {
                AddInput(InputObject);
            }
        }

        private void AddInput(PSObject input)
        {
            _filling.AddObject(input);
            _fillingInputs.Add(input);
            if (_filling.Count >= BatchObjectLimit || _filling.Length >= BatchByteLimit)
            {
                SubmitFilling();
            }
        }

        protected override void EndProcessing()
        {
            SubmitFilling();
            CompleteInFlight();
            OnInputComplete(_session);
            InputSummary summary = NativeResults.Tally(_session);
            WriteVerbose(summary.ToString());
            if (summary.SkippedOperations.Count > 0)
            {
                var parts = new List<string>();
                foreach (DictionaryEntry entry in summary.SkippedOperations)
                {
                    parts.Add($"{entry.Key} {entry.Value}");
                }
                WriteVerbose($"Skipped records of other operations: {string.Join(", ", parts)}");
            }
            if (!string.IsNullOrEmpty(SummaryVariable))
            {
                SessionState.PSVariable.Set(SummaryVariable.TrimStart('$'), summary);
            }
        }

        protected override void StopProcessing()
        {
            // Called on another thread: the engine stops at its next record boundary.
            try
            {
                _session?.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }

        /// <summary>The culture's short date pattern puts the day first (13/05/2020).</summary>
        internal static bool CultureWritesDayFirst(CultureInfo culture)
        {
            string pattern = culture.DateTimeFormat.ShortDatePattern;
            int day = pattern.IndexOf('d');
            int month = pattern.IndexOf('M');
            return day >= 0 && month >= 0 && day < month;
        }

        private void SubmitFilling()
        {
            if (_filling.Count == 0)
            {
                return;
            }
            CompleteInFlight();
            ObjectBatchEncoder encoder = _filling;
            long firstIndex = _nextIndex;
            _nextIndex += encoder.Count;
            SessionHandle session = _session;
            _inFlight = new PendingBatch(
                Task.Run(() => Ingest(session, encoder, firstIndex)),
                encoder,
                _fillingInputs,
                firstIndex);
            _filling = _spare ?? new ObjectBatchEncoder();
            _spare = null;
            _filling.Clear();
            _fillingInputs = new List<PSObject>();
        }

        private static unsafe BatchResult Ingest(SessionHandle session, ObjectBatchEncoder encoder, long firstIndex)
        {
            return session.Use(h =>
            {
                MafBatch* batch = null;
                fixed (byte* buffer = encoder.Buffer)
                {
                    NativeCall.Check(NativeMethods.maf_session_ingest_objects(
                        (MafSession*)h, buffer, (nuint)encoder.Length, (ulong)firstIndex, &batch));
                }
                return NativeResults.TakeBatch(batch, _ => null);
            });
        }

        private void CompleteInFlight()
        {
            if (_inFlight == null)
            {
                return;
            }
            PendingBatch pending = _inFlight;
            _inFlight = null;
            BatchResult result;
            try
            {
                result = pending.Task.GetAwaiter().GetResult();
            }
            catch (NativeCallException e)
            {
                ThrowTerminatingError(new ErrorRecord(e, "MailAccessForensics.Engine" + e.Status, ErrorCategory.NotSpecified, null));
                return;
            }
            finally
            {
                _spare = pending.Encoder;
            }
            Emit(result, pending);
        }

        /// <summary>Writes records and errors interleaved in input order.</summary>
        private void Emit(BatchResult result, PendingBatch pending)
        {
            int failureAt = 0;
            foreach (MailAccessRecord record in result.Records)
            {
                long index = record.InputIndex;
                while (failureAt < result.Failures.Count && result.Failures[failureAt].InputIndex < index)
                {
                    WriteFailure(result.Failures[failureAt++], pending);
                }
                OnRecord(record);
            }
            while (failureAt < result.Failures.Count)
            {
                WriteFailure(result.Failures[failureAt++], pending);
            }
        }

        private void WriteFailure(RecordFailure failure, PendingBatch pending)
        {
            int offset = (int)(failure.InputIndex - pending.FirstIndex);
            PSObject input = offset >= 0 && offset < pending.Inputs.Count ? pending.Inputs[offset] : null;
            string recordId = failure.RecordId ?? IdentityOf(input);
            string where = $"pipeline object {failure.InputIndex + 1}";
            string label = recordId != null ? $"Record '{recordId}' ({where})" : $"Record at {where}";
            var exception = new InvalidAuditRecordException($"{label}: {failure.Message}", failure.KindName, recordId, where);
            WriteError(new ErrorRecord(exception, "MailAccessForensics." + failure.KindName, ErrorCategory.InvalidData, input));
        }

        /// <summary>The id an audit tool put on the object, to name a record whose AuditData is broken.</summary>
        private static string IdentityOf(PSObject input)
        {
            if (input == null || !(input.BaseObject is PSCustomObject))
            {
                return null;
            }
            foreach (string name in new[] { "Identity", "RecordId", "Id" })
            {
                object value = input.Properties[name]?.Value;
                if (value != null && value.ToString().Trim().Length > 0)
                {
                    return value.ToString().Trim();
                }
            }
            return null;
        }

        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            // Stopped mid-pipeline (Select-Object -First, Ctrl+C): EndProcessing never runs.
            try
            {
                _inFlight?.Task.Wait();
            }
            catch (AggregateException)
            {
            }
            _session?.Dispose();
            GC.SuppressFinalize(this);
        }

        private sealed class PendingBatch
        {
            internal PendingBatch(Task<BatchResult> task, ObjectBatchEncoder encoder, List<PSObject> inputs, long firstIndex)
            {
                Task = task;
                Encoder = encoder;
                Inputs = inputs;
                FirstIndex = firstIndex;
            }

            internal Task<BatchResult> Task { get; }
            internal ObjectBatchEncoder Encoder { get; }
            internal List<PSObject> Inputs { get; }
            internal long FirstIndex { get; }
        }
    }

    /// <summary>An input record that could not be analysed; the error names it and says why.</summary>
    public sealed class InvalidAuditRecordException : Exception
    {
        internal InvalidAuditRecordException(string message, string kind, string recordId, string source) : base(message)
        {
            Kind = kind;
            RecordId = recordId;
            Source = source;
        }

        /// <summary>InvalidJson, InvalidEncoding, InvalidValue, MissingField, TooLarge, TooDeep, InvalidCsv, NotAnAuditRecord, Unreadable.</summary>
        public string Kind { get; }
        public string RecordId { get; }
        public new string Source { get; }
    }
}
