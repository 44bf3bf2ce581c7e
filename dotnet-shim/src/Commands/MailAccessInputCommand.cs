using System;
using System.Collections;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using MailAccessForensics.Native;

namespace MailAccessForensics.Commands
{
    /// <summary>
    /// Base of every cmdlet that reads MailItemsAccessed records. Records come from the pipeline
    /// (handed to the engine in batches; the engine reads a batch on another thread while
    /// PowerShell binds the next objects) or from files (the engine reads them itself, on every
    /// core, in bounded memory, with a progress bar). Malformed records become non-terminating
    /// errors; the tally accounts for every record.
    /// </summary>
    public abstract class MailAccessInputCommand : PSCmdlet, IDisposable
    {
        internal const string InputObjectSet = "InputObject";
        internal const string PathSet = "Path";
        internal const string LiteralPathSet = "LiteralPath";

        // A batch is sent when either bound is reached. Small batches keep the engine busy from
        // the first objects on and leave little to read once the pipeline ends (two batches of
        // 4,096 Search-UnifiedAuditLog objects were a fifth of 50,000 left to read after the
        // last object); their buffers, reused, stay in the cache instead of being faulted in
        // afresh (8 MB ones were), and the native call stays short for a prompt Ctrl+C.
        internal const int BatchObjectLimit = 256;
        private const int BatchByteLimit = 1 << 20;
        // Batches being read while the next one fills: one is parsed while the one before it is
        // counted, so the engine's two halves and the encoding overlap.
        private const int MaxBatchesInFlight = 2;
        private const int ProgressId = 1;
        private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(500);

        private SessionHandle? _session;
        private ObjectBatchEncoder _filling = new ObjectBatchEncoder();
        private readonly Stack<ObjectBatchEncoder> _spareEncoders = new Stack<ObjectBatchEncoder>();
        private List<PSObject?> _fillingInputs = new List<PSObject?>();
        private long _nextIndex;
        private readonly Queue<PendingBatch> _inFlight = new Queue<PendingBatch>();
        private Task<BatchResult>? _lastSubmitted;
        private readonly List<string> _files = new List<string>();
        private readonly List<string> _deferredFiles = new List<string>();
        private CancellationTokenSource _stopping = new CancellationTokenSource();
        // Progress is shown once a command has read files for a while, then every interval.
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private TimeSpan _nextProgress = ProgressInterval;
        private bool _disposed;

        /// <summary>
        /// A test's hold on file reading, set by the Pester tests through reflection and null
        /// otherwise: once the first chunk of a file is written, the command sets it and waits
        /// until it is stopped (at most a minute), so that a test stops it mid-read for certain,
        /// whatever the machine's speed.
        /// </summary>
        internal static ManualResetEventSlim? HoldAfterFirstChunk;
        private bool _summarySet;

        /// <summary>The accounting once every input record was read: a stop while the results
        /// are being written (Select-Object -First) did not cut the input.</summary>
        private InputSummary? _inputSummary;

        /// <summary>What the command read and said, for the chain of custody of its run.</summary>
        private protected RunLog Log { get; } = new RunLog();

        /// <summary>
        /// An audit record from the pipeline: a Search-UnifiedAuditLog result, an Import-Csv row of
        /// an audit export, a Search-MailboxAuditLog record, a Graph, Sentinel or Defender record,
        /// AuditData as an object, or AuditData JSON text. A FileInfo (Get-ChildItem) is read as a file.
        /// </summary>
        [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = InputObjectSet)]
        [AllowNull]
        [AllowEmptyString]
        public PSObject? InputObject { get; set; }

        /// <summary>Files of audit records to read; wildcards allowed.</summary>
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet)]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        public string[]? Path { get; set; }

        /// <summary>Files of audit records to read, taken exactly as written.</summary>
        [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet, ValueFromPipelineByPropertyName = true)]
        [Alias("PSPath", "LP")]
        [ValidateNotNullOrEmpty]
        public string[]? LiteralPath { get; set; }

        /// <summary>
        /// Name of a variable that receives the InputSummary of the run (records read,
        /// analysed, skipped, duplicates, errors), for scripts that check the accounting.
        /// </summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? SummaryVariable { get; set; }

        /// <summary>True when the cmdlet wants each analysed record back (ConvertFrom).</summary>
        private protected virtual bool ReturnRecords => false;

        /// <summary>
        /// True when the session can only be created once all pipeline input is in (the
        /// pipeline then carries something other than records, such as message ids).
        /// </summary>
        private protected virtual bool DefersSession => false;

        /// <summary>Receives analysed records in input order when <see cref="ReturnRecords"/>.</summary>
        private protected virtual void OnRecord(MailAccessRecord record)
        {
        }

        /// <summary>Runs after every input was read, with the accounting; analysis cmdlets write their results here.</summary>
        private protected virtual void OnInputComplete(SessionHandle session, InputSummary summary)
        {
        }

        /// <summary>Extra session options (analysis cmdlets add their filters).</summary>
        private protected virtual void AddSessionOptions(IDictionary options)
        {
        }

        protected override void BeginProcessing()
        {
            Log.StartTime = DateTime.UtcNow;
            NativeLibraryLoader.EnsureLoaded();
            if (!DefersSession)
            {
                CreateSession();
            }
        }

        protected override void ProcessRecord()
        {
            if (ParameterSetName == InputObjectSet)
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
                return;
            }
            bool literal = ParameterSetName == LiteralPathSet;
            // Mandatory in its parameter set: PowerShell binds it before ProcessRecord.
            string[] paths = (literal ? LiteralPath : Path) ?? throw new PSInvalidOperationException($"-{(literal ? nameof(LiteralPath) : nameof(Path))} is not bound.");
            foreach (string path in paths)
            {
                foreach (string file in ResolveFiles(path, literal))
                {
                    if (DefersSession)
                    {
                        _deferredFiles.Add(file);
                    }
                    else
                    {
                        ReadPath(file);
                    }
                }
            }
        }

        protected override void EndProcessing()
        {
            if (DefersSession)
            {
                CreateSession();
                foreach (string file in _deferredFiles)
                {
                    ReadPath(file);
                }
            }
            SubmitFilling();
            CompleteInFlight();
            InputSummary summary = NativeResults.Tally(Session);
            _inputSummary = summary;
            OnInputComplete(Session, summary);
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
            if (summary.PossiblyTruncated)
            {
                WriteWarning($"The input may be truncated, so this answer may miss what the missing records held. {summary.TruncationReason} " +
                    "To have every record, collect the period with Save-MailAccessAuditLog and give its folder to -Path.");
            }
            SetSummaryVariable(summary);
        }

        private void SetSummaryVariable(InputSummary summary)
        {
            _summarySet = true;
            if (SummaryVariable is string name && name.Length > 0)
            {
                SessionState.PSVariable.Set(name.TrimStart('$'), summary);
            }
        }

        /// <summary>
        /// Stopped mid-pipeline (Select-Object -First, Ctrl+C), EndProcessing never ends: the
        /// summary variable then gets the accounting of what was read until the stop, marked
        /// possibly truncated, with the reason; stopped while the results were written, all the
        /// input was read, and it gets that accounting as it is. Best effort: a summary that
        /// cannot be had leaves the variable unset rather than fail the stop.
        /// </summary>
        private void SetSummaryVariableOnStop()
        {
            if (_summarySet || string.IsNullOrEmpty(SummaryVariable) || _session == null)
            {
                return;
            }
            try
            {
                InputSummary? summary = _inputSummary;
                if (summary == null)
                {
                    summary = NativeResults.Tally(_session);
                    const string stopped = "The command was stopped before it read all its input (Select-Object -First, Ctrl+C): these counts are of the records read until then.";
                    summary.PossiblyTruncated = true;
                    summary.TruncationReason = summary.TruncationReason == null ? stopped : summary.TruncationReason + " " + stopped;
                }
                SetSummaryVariable(summary);
            }
            catch (NativeCallException)
            {
            }
            catch (PSInvalidOperationException)
            {
                // The session state is no longer there to set a variable in.
            }
        }

        protected override void StopProcessing()
        {
            // Called on another thread: the engine stops at its next record boundary.
            try
            {
                _stopping.Cancel();
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

        private void CreateSession()
        {
            var options = new Hashtable
            {
                ["ReturnRecords"] = ReturnRecords,
                ["DayFirstDates"] = CultureWritesDayFirst(CultureInfo.CurrentCulture),
                ["Threads"] = Environment.ProcessorCount,
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

        // ---- pipeline input -------------------------------------------------------------------

        /// <summary>
        /// The engine session: created in BeginProcessing, or (<see cref="DefersSession"/>, when no
        /// records come through the pipeline) at the start of EndProcessing, before any input is read.
        /// </summary>
        private SessionHandle Session => _session ?? throw new InvalidOperationException("The engine session was used before it was created.");

        private void AddInput(PSObject? input)
        {
            if (input?.BaseObject is FileInfo file)
            {
                // Get-ChildItem *.csv | Get-CompromisedMailAccess ...
                ReadPath(file.FullName);
                return;
            }
            if (input?.BaseObject is DirectoryInfo folder)
            {
                // Get-Item .\case-042 | Get-CompromisedMailAccess ...
                ReadPath(folder.FullName);
                return;
            }
            _filling.AddObject(input);
            _fillingInputs.Add(input);
            Log.PipelineObjects++;
            if (_filling.Count >= BatchObjectLimit || _filling.Length >= BatchByteLimit)
            {
                SubmitFilling();
            }
        }

        private void SubmitFilling()
        {
            if (_filling.Count == 0)
            {
                return;
            }
            if (_inFlight.Count >= MaxBatchesInFlight)
            {
                CompleteOldestBatch();
            }
            ObjectBatchEncoder encoder = _filling;
            long firstIndex = _nextIndex;
            _nextIndex += encoder.Count;
            SessionHandle session = Session;
            Task<BatchResult>? previous = _lastSubmitted;
            _lastSubmitted = Task.Run(() => ParseThenAccept(session, encoder, firstIndex, previous));
            _inFlight.Enqueue(new PendingBatch(_lastSubmitted, encoder, _fillingInputs, firstIndex));
            _filling = _spareEncoders.Count > 0 ? _spareEncoders.Pop() : new ObjectBatchEncoder();
            _filling.Clear();
            _fillingInputs = new List<PSObject?>(BatchObjectLimit);
        }

        /// <summary>
        /// Parses a batch (alongside the batch before it), then counts it once the batch before it
        /// has been counted: records are counted, deduplicated and numbered in pipeline order.
        /// </summary>
        private BatchResult ParseThenAccept(SessionHandle session, ObjectBatchEncoder encoder, long firstIndex, Task<BatchResult>? previous)
        {
            using (ParsedBatch parsed = session.Parse(encoder.Buffer, encoder.Length, firstIndex))
            {
                // A failed batch before this one fails this one too; its own error is reported first.
                previous?.GetAwaiter().GetResult();
                return session.Accept(parsed, FileName);
            }
        }

        private void CompleteInFlight()
        {
            while (_inFlight.Count > 0)
            {
                CompleteOldestBatch();
            }
        }

        private void CompleteOldestBatch()
        {
            PendingBatch pending = _inFlight.Dequeue();
            BatchResult result;
            try
            {
                result = pending.Task.GetAwaiter().GetResult();
            }
            catch (NativeCallException e)
            {
                ThrowEngineError(e);
                return;
            }
            finally
            {
                _spareEncoders.Push(pending.Encoder);
            }
            Emit(result, failure =>
            {
                int offset = (int)(failure.InputIndex - pending.FirstIndex);
                return offset >= 0 && offset < pending.Inputs.Count ? pending.Inputs[offset] : null;
            });
        }

        // ---- files ------------------------------------------------------------------------------

        private protected string FileName(int index) => index >= 0 && index < _files.Count ? _files[index] : "?";

        /// <summary>The files a -Path or -LiteralPath value names; errors for what names none.</summary>
        private IEnumerable<string> ResolveFiles(string path, bool literal)
        {
            var files = new List<string>();
            try
            {
                if (literal)
                {
                    string resolved = SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out ProviderInfo provider, out _);
                    if (!IsFileSystem(provider, path))
                    {
                        return files;
                    }
                    files.Add(resolved);
                }
                else
                {
                    Collection<string> resolved = SessionState.Path.GetResolvedProviderPathFromPSPath(path, out ProviderInfo provider);
                    if (!IsFileSystem(provider, path))
                    {
                        return files;
                    }
                    files.AddRange(resolved);
                    if (resolved.Count == 0)
                    {
                        WriteError(new ErrorRecord(new FileNotFoundException($"No file matches '{path}'."), "MailAccessForensics.PathNotFound", ErrorCategory.ObjectNotFound, path));
                    }
                }
            }
            catch (ItemNotFoundException e)
            {
                WriteError(new ErrorRecord(e, "MailAccessForensics.PathNotFound", ErrorCategory.ObjectNotFound, path));
                return files;
            }
            var existing = new List<string>();
            foreach (string file in files)
            {
                if (Directory.Exists(file))
                {
                    // A collection folder (Save-MailAccessAuditLog), or an error when it is not one.
                    existing.Add(file);
                }
                else if (!File.Exists(file))
                {
                    WriteError(new ErrorRecord(new FileNotFoundException($"Cannot find the file '{file}'.", file), "MailAccessForensics.PathNotFound", ErrorCategory.ObjectNotFound, file));
                }
                else
                {
                    existing.Add(file);
                }
            }
            return existing;
        }

        private bool IsFileSystem(ProviderInfo provider, string path)
        {
            if (provider.ImplementingType == typeof(Microsoft.PowerShell.Commands.FileSystemProvider))
            {
                return true;
            }
            WriteError(new ErrorRecord(new ArgumentException($"'{path}' is not a file-system path (provider {provider.Name})."), "MailAccessForensics.NotAFile", ErrorCategory.InvalidArgument, path));
            return false;
        }

        /// <summary>A file, or a collection folder (its manifest names the records files).</summary>
        private void ReadPath(string path)
        {
            if (Directory.Exists(path))
            {
                ReadCollection(path, fallBackToFile: false);
            }
            else if (string.Equals(System.IO.Path.GetFileName(path), CollectionManifestName, StringComparison.OrdinalIgnoreCase))
            {
                // The manifest of a collection stands for its folder (Get-ChildItem .\case-042).
                string? folder = System.IO.Path.GetDirectoryName(path);
                if (folder == null)
                {
                    // A root has no folder to be a collection of.
                    ReadFile(path);
                }
                else
                {
                    ReadCollection(folder, fallBackToFile: true, file: path);
                }
            }
            else
            {
                ReadFile(path);
            }
        }

        /// <summary>The name of a collection folder's manifest (written by Save-MailAccessAuditLog).</summary>
        private const string CollectionManifestName = "manifest.json";

        /// <summary>
        /// Reads the records files of a collection folder; the engine checks its manifest and
        /// files and keeps what they say about its completeness for the summary.
        /// </summary>
        private void ReadCollection(string folder, bool fallBackToFile, string? file = null)
        {
            SubmitFilling();
            CompleteInFlight();
            MailAccessCollection collection;
            try
            {
                collection = NativeCollections.Read(Session, folder, _files.Count);
            }
            catch (NativeCallException e) when (e.StatusCode == MafStatus.Io)
            {
                if (fallBackToFile && file != null)
                {
                    ReadFile(file);
                    return;
                }
                WriteError(new ErrorRecord(new IOException($"'{folder}' is a folder, not a collection ({e.Message}): give the files in it (for example '{System.IO.Path.Combine(folder, "*.csv")}'), or a folder Save-MailAccessAuditLog wrote."), "MailAccessForensics.PathIsFolder", ErrorCategory.InvalidArgument, folder));
                return;
            }
            catch (NativeCallException e)
            {
                ThrowEngineError(e);
                return;
            }
            WriteVerbose($"Reading the collection in {folder}: {collection.RecordCount:N0} records in {collection.Files.Length} files, {(collection.Complete ? "complete" : "incomplete")}.");
            foreach (string records in collection.Files)
            {
                ReadFile(records);
            }
        }

        /// <summary>
        /// Reads one file: the engine reads chunks on a worker thread while this (pipeline)
        /// thread writes their records and errors, and the progress. At most two chunks wait, so
        /// memory stays bounded whatever the file's size.
        /// </summary>
        private void ReadFile(string file)
        {
            // Earlier pipeline input comes out first.
            SubmitFilling();
            CompleteInFlight();
            int fileIndex = _files.Count;
            _files.Add(file);
            ReaderHandle reader;
            long? size = SizeOf(file);
            try
            {
                reader = ReaderHandle.Open(Session, file, fileIndex);
            }
            catch (NativeCallException e) when (e.StatusCode == MafStatus.Io)
            {
                Log.AddUnreadableFile(file, e.Message);
                WriteError(new ErrorRecord(new IOException(e.Message, e), "MailAccessForensics.FileUnreadable", ErrorCategory.ReadError, file));
                return;
            }
            using (reader)
            using (var chunks = new BlockingCollection<BatchResult>(boundedCapacity: 2))
            using (var consumerGone = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token))
            {
                Exception? failure = null;
                SessionHandle session = Session;
                Task producer = Task.Run(() =>
                {
                    try
                    {
                        for (BatchResult? chunk; (chunk = reader.Next(session, FileName)) != null;)
                        {
                            chunks.Add(chunk, consumerGone.Token);
                        }
                    }
                    catch (Exception e)
                    {
                        failure = e;
                    }
                    finally
                    {
                        chunks.CompleteAdding();
                    }
                });
                bool progressShown = false;
                try
                {
                    while (!chunks.IsCompleted)
                    {
                        if (chunks.TryTake(out BatchResult? chunk, 200) && chunk != null)
                        {
                            Emit(chunk, _ => file);
                            ManualResetEventSlim? hold = HoldAfterFirstChunk;
                            if (hold != null && !hold.IsSet)
                            {
                                hold.Set();
                                _stopping.Token.WaitHandle.WaitOne(TimeSpan.FromMinutes(1));
                            }
                        }
                        if (_clock.Elapsed >= _nextProgress)
                        {
                            WriteFileProgress(file, reader.Progress(), completed: false);
                            progressShown = true;
                            _nextProgress = _clock.Elapsed + ProgressInterval;
                        }
                    }
                }
                finally
                {
                    // Stopped downstream (Select-Object -First) or by Ctrl+C: let the worker go.
                    consumerGone.Cancel();
                    producer.Wait();
                }
                if (progressShown)
                {
                    WriteFileProgress(file, reader.Progress(), completed: true);
                }
                if (failure is NativeCallException engine)
                {
                    ThrowEngineError(engine);
                }
                if (failure != null && !(failure is OperationCanceledException))
                {
                    // Rethrown as it was thrown on the worker: its stack trace is the evidence of where.
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
                }
                if (failure == null)
                {
                    try
                    {
                        Log.AddFile(file, size, reader.Digest(Session), (long)reader.Progress().records);
                    }
                    catch (NativeCallException e)
                    {
                        ThrowEngineError(e);
                    }
                }
            }
        }

        /// <summary>The file's size when it is opened, for the chain of custody; null when it cannot be known.</summary>
        private static long? SizeOf(string file)
        {
            try
            {
                return new FileInfo(file).Length;
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is System.Security.SecurityException)
            {
                return null;
            }
        }

        private void WriteFileProgress(string file, MafProgress progress, bool completed)
        {
            string name = System.IO.Path.GetFileName(file);
            var record = new ProgressRecord(ProgressId, "Reading audit records", name)
            {
                RecordType = completed ? ProgressRecordType.Completed : ProgressRecordType.Processing,
            };
            if (progress.bytes_total > 0)
            {
                record.PercentComplete = (int)Math.Min(100, progress.bytes_read * 100 / (ulong)progress.bytes_total);
                record.StatusDescription = $"{name}: {progress.bytes_read / 1048576.0:N1} of {progress.bytes_total / 1048576.0:N1} MB, {progress.records:N0} records";
            }
            else
            {
                record.StatusDescription = $"{name}: {progress.bytes_read / 1048576.0:N1} MB, {progress.records:N0} records";
            }
            WriteProgress(record);
        }

        // ---- results ------------------------------------------------------------------------

        /// <summary>Writes records and errors interleaved in input order.</summary>
        private void Emit(BatchResult result, Func<RecordFailure, object?> targetOf)
        {
            int failureAt = 0;
            foreach (MailAccessRecord record in result.Records)
            {
                long index = record.InputIndex;
                while (failureAt < result.Failures.Count && result.Failures[failureAt].InputIndex < index)
                {
                    WriteFailure(result.Failures[failureAt], targetOf(result.Failures[failureAt]));
                    failureAt++;
                }
                OnRecord(record);
            }
            while (failureAt < result.Failures.Count)
            {
                WriteFailure(result.Failures[failureAt], targetOf(result.Failures[failureAt]));
                failureAt++;
            }
        }

        private void WriteFailure(RecordFailure failure, object? target)
        {
            string where = failure.Where;
            string? recordId = failure.RecordId ?? IdentityOf(target as PSObject);
            string label = recordId != null ? $"Record '{recordId}' ({where})" : $"Record at {where}";
            var exception = new InvalidAuditRecordException($"{label}: {failure.Message}", failure.KindName, recordId, where);
            Log.AddError(exception.Message);
            WriteError(new ErrorRecord(exception, "MailAccessForensics." + failure.KindName, ErrorCategory.InvalidData, target));
        }

        /// <summary>The id an audit tool put on the object, to name a record whose AuditData is broken.</summary>
        private static string? IdentityOf(PSObject? input)
        {
            if (input == null || !(input.BaseObject is PSCustomObject))
            {
                return null;
            }
            foreach (string name in new[] { "Identity", "RecordId", "Id" })
            {
                string? value = input.Properties[name]?.Value?.ToString()?.Trim();
                if (!string.IsNullOrEmpty(value))
                {
                    return value;
                }
            }
            return null;
        }

        /// <summary>A failed engine call ends the command; a stopped one stops the pipeline quietly.</summary>
        private protected void ThrowEngineError(NativeCallException e)
        {
            if (e.StatusCode == MafStatus.Cancelled)
            {
                throw new PipelineStoppedException();
            }
            ThrowTerminatingError(EngineError.Record(e));
        }

        public void Dispose()
        {
            Dispose(true);
            GC.SuppressFinalize(this);
        }

        protected virtual void Dispose(bool disposing)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            if (!disposing)
            {
                return;
            }
            // Stopped mid-pipeline (Select-Object -First, Ctrl+C): EndProcessing never runs.
            foreach (PendingBatch pending in _inFlight)
            {
                try
                {
                    pending.Task.Wait();
                }
                catch (AggregateException)
                {
                }
            }
            SetSummaryVariableOnStop();
            _session?.Dispose();
            _stopping.Dispose();
        }

        private sealed class PendingBatch
        {
            internal PendingBatch(Task<BatchResult> task, ObjectBatchEncoder encoder, List<PSObject?> inputs, long firstIndex)
            {
                Task = task;
                Encoder = encoder;
                Inputs = inputs;
                FirstIndex = firstIndex;
            }

            internal Task<BatchResult> Task { get; }
            internal ObjectBatchEncoder Encoder { get; }
            internal List<PSObject?> Inputs { get; }
            internal long FirstIndex { get; }
        }
    }

    /// <summary>An input record that could not be analysed; the error names it and says why.</summary>
    public sealed class InvalidAuditRecordException : Exception
    {
        internal InvalidAuditRecordException(string message, string kind, string? recordId, string source) : base(message)
        {
            Kind = kind;
            RecordId = recordId;
            RecordSource = source;
        }

        /// <summary>InvalidJson, InvalidEncoding, InvalidValue, MissingField, TooLarge, TooDeep, InvalidCsv, NotAnAuditRecord, Unreadable.</summary>
        public string Kind { get; }
        public string? RecordId { get; }
        /// <summary>Where the record was read: the file and line, or the pipeline object.</summary>
        public string RecordSource { get; }
    }
}
