using System;
using System.Collections;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using MailAccessForensics.Native;

namespace MailAccessForensics.Commands
{
    /// <summary>
    /// Save-MailAccessAuditLog: collects every MailItemsAccessed record of a period (and other
    /// operations asked for) from Search-UnifiedAuditLog into a collection folder, window by
    /// window and page by page, and says what it could not fetch. Re-run on the same folder, it
    /// resumes. The engine plans the calls, checks each page and writes the folder; this cmdlet
    /// runs the calls in the caller's session and reports.
    /// </summary>
    [Cmdlet(VerbsData.Save, "MailAccessAuditLog")]
    [OutputType(typeof(MailAccessCollection))]
    public sealed class SaveMailAccessAuditLogCommand : PSCmdlet, IDisposable
    {
        private const string SearchCommand = "Search-UnifiedAuditLog";
        private const int ProgressId = 2;
        private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(500);

        // Warnings of Search-UnifiedAuditLog that mean the call failed (reported by the
        // Exchange Online module instead of an error).
        private static readonly string[] FailureWarnings =
        {
            "task was canceled", "failed to process request", "timed out", "server side error", "operation could not be completed",
        };

        private readonly ManualResetEvent _stopping = new ManualResetEvent(false);
        private readonly object _runningLock = new object();
        private PowerShell? _running;
        private CollectorHandle? _collector;
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private TimeSpan _nextProgress = TimeSpan.Zero;
        private bool _progressShown;
        private bool _disposed;

        /// <summary>The collection folder: new or empty to start a collection, or one to resume.</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = string.Empty;

        /// <summary>The start of the period (as Search-UnifiedAuditLog reads it).</summary>
        [Parameter]
        public DateTime StartDate { get; set; }

        /// <summary>The end of the period (exclusive).</summary>
        [Parameter]
        public DateTime EndDate { get; set; }

        /// <summary>Keep the records of these mailboxes (and of their accounts acting).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[]? Mailbox { get; set; }

        /// <summary>Operations to collect besides MailItemsAccessed.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[]? Operations { get; set; }

        /// <summary>Do not check the mailboxes' audit configuration.</summary>
        [Parameter]
        public SwitchParameter SkipAuditCheck { get; set; }

        /// <summary>The wait after a window's first failed call (it doubles with each further failure).</summary>
        [Parameter]
        public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(10);

        private bool IsBound(string name) => MyInvocation.BoundParameters.ContainsKey(name);

        protected override void EndProcessing()
        {
            NativeLibraryLoader.EnsureLoaded();
            string folder = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
            CommandInfo? search = FindCommand(SearchCommand);
            if (search == null)
            {
                ThrowTerminatingError(new ErrorRecord(
                    new CommandNotFoundException($"{SearchCommand} is not available in this session: run Connect-ExchangeOnline (ExchangeOnlineManagement module) first, with an account allowed to search the audit log."),
                    "MailAccessForensics.NotConnected", ErrorCategory.ObjectNotFound, SearchCommand));
                return; // ThrowTerminatingError always throws (it is not annotated [DoesNotReturn]).
            }
            try
            {
                _collector = CollectorHandle.Create(CollectorOptions(folder));
            }
            catch (NativeCallException e)
            {
                var category = e.StatusCode == MafStatus.Io ? ErrorCategory.InvalidArgument : ErrorCategory.NotSpecified;
                ThrowTerminatingError(new ErrorRecord(new ArgumentException(e.Message, e), "MailAccessForensics.CollectionRefused", category, folder));
                return;
            }
            MailAccessCollection parameters = Collector.Summary();
            MailboxAuditCheck[] checks = new MailboxAuditCheck[0];
            bool stopped = false;
            try
            {
                if (parameters.Mailbox.Length > 0 && !SkipAuditCheck)
                {
                    checks = parameters.Mailbox.Select(CheckAuditConfiguration).ToArray();
                    Collector.RecordAuditChecks(EncodeChecks(checks));
                }
                else if (parameters.Mailbox.Length == 0)
                {
                    WriteVerbose("No -Mailbox: every mailbox's records are collected, and no audit configuration is checked.");
                }
                Collect(search, parameters);
            }
            catch (PipelineStoppedException)
            {
                stopped = true;
                throw;
            }
            catch (NativeCallException e)
            {
                ThrowTerminatingError(EngineError.Record(e));
            }
            finally
            {
                // Whatever ended the run, the manifest says how far it got; a stopped run
                // leaves a folder the next run resumes.
                try
                {
                    Collector.Finish(stopped || _stopping.WaitOne(0));
                }
                catch (NativeCallException e) when (stopped)
                {
                    WriteDebug(e.Message);
                }
                if (_progressShown && !stopped)
                {
                    WriteProgress(new ProgressRecord(ProgressId, Activity(folder), "Done") { RecordType = ProgressRecordType.Completed });
                }
            }
            MailAccessCollection summary = Collector.Summary();
            summary.AuditChecks = checks;
            Report(summary);
            WriteObject(summary);
        }

        protected override void StopProcessing()
        {
            // Called on another thread: stop the call under way and any wait.
            try
            {
                _stopping.Set();
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            PowerShell? running;
            lock (_runningLock)
            {
                running = _running;
            }
            try
            {
                // Not waited for: the pipeline thread ends the call and finishes the run.
                running?.BeginStop(null, null);
            }
            catch (ObjectDisposedException)
            {
            }
        }

        private ObjectBatchEncoder CollectorOptions(string folder)
        {
            var options = new Hashtable
            {
                ["Path"] = folder,
                ["Now"] = DateTime.UtcNow,
                ["RunId"] = Guid.NewGuid().ToString("N"),
                ["Tool"] = $"MailAccessForensics {typeof(SaveMailAccessAuditLogCommand).Assembly.GetName().Version?.ToString(3)}",
                ["Host"] = new Hashtable
                {
                    ["PSVersion"] = PSVersion(),
                    ["OS"] = Environment.OSVersion.VersionString,
                    ["Machine"] = Environment.MachineName,
                },
                ["RetryDelayMilliseconds"] = (long)Math.Max(0, RetryDelay.TotalMilliseconds),
            };
            if (IsBound(nameof(StartDate)))
            {
                options["StartDate"] = StartDate;
            }
            if (IsBound(nameof(EndDate)))
            {
                options["EndDate"] = EndDate;
            }
            if (Mailbox != null)
            {
                options["Mailbox"] = Mailbox;
            }
            if (Operations != null)
            {
                options["Operations"] = Operations;
            }
            Hashtable? connection = ConnectionInformation();
            if (connection != null)
            {
                options["Connection"] = connection;
            }
            var encoder = new ObjectBatchEncoder(1024);
            encoder.AddMap(options);
            return encoder;
        }

        private string? PSVersion()
        {
            object table = SessionState.PSVariable.GetValue("PSVersionTable");
            return table is Hashtable versions ? versions["PSVersion"]?.ToString() : null;
        }

        /// <summary>The Exchange Online connection (Get-ConnectionInformation), for the manifest.</summary>
        private Hashtable? ConnectionInformation()
        {
            CommandInfo? command = FindCommand("Get-ConnectionInformation");
            if (command == null)
            {
                return null;
            }
            try
            {
                Collection<PSObject> results = Invoke(command, new Hashtable(), out string? failure);
                PSObject? first = results.FirstOrDefault(r => r != null);
                if (first == null)
                {
                    return failure == null ? null : new Hashtable { ["Error"] = failure };
                }
                var info = new Hashtable();
                foreach (string name in new[] { "UserPrincipalName", "TenantID", "Organization", "ConnectionUri", "ConnectionId", "Name", "State", "ModuleName", "AppId", "CertificateAuthentication" })
                {
                    object? value = first.Properties[name]?.Value;
                    if (value != null)
                    {
                        info[name] = value.ToString();
                    }
                }
                return info;
            }
            catch (RuntimeException e) when (!(e is PipelineStoppedException))
            {
                return new Hashtable { ["Error"] = e.Message };
            }
        }

        // ---- the calls ------------------------------------------------------------------------

        private void Collect(CommandInfo search, MailAccessCollection parameters)
        {
            string operations = string.Join(",", parameters.Operations);
            string folder = parameters.Path;
            while (true)
            {
                CollectStep step = Collector.Next();
                foreach (string note in step.Notes)
                {
                    WriteVerbose(note);
                }
                if (step.IsDone)
                {
                    return;
                }
                if (_stopping.WaitOne(0))
                {
                    throw new PipelineStoppedException();
                }
                if (step.IsWait)
                {
                    if (_stopping.WaitOne(step.Wait))
                    {
                        throw new PipelineStoppedException();
                    }
                    continue;
                }
                ShowProgress(folder, step);
                var arguments = new Hashtable
                {
                    ["StartDate"] = ServiceTime(step.Start),
                    ["EndDate"] = ServiceTime(step.End),
                    ["Operations"] = parameters.Operations,
                    ["SessionCommand"] = "ReturnLargeSet",
                    ["SessionId"] = step.SessionId,
                    ["ResultSize"] = 5000,
                };
                WriteVerbose($"{SearchCommand} -StartDate '{arguments["StartDate"]}' -EndDate '{arguments["EndDate"]}' -Operations {operations} -SessionCommand ReturnLargeSet -SessionId {step.SessionId} -ResultSize 5000 (window {step.Window}, session {step.Session}, page {step.Page})");
                Collection<PSObject>? results;
                string? failure;
                try
                {
                    results = Invoke(search, arguments, out failure);
                }
                catch (PipelineStoppedException)
                {
                    throw;
                }
                catch (Exception e) when (!(e is PipelineStoppedException) && !_stopping.WaitOne(0))
                {
                    // A terminating error of the call (the session dropped, a server error).
                    results = null;
                    failure = e.Message;
                }
                if (_stopping.WaitOne(0))
                {
                    throw new PipelineStoppedException();
                }
                if (failure != null)
                {
                    WriteVerbose($"The call failed: {failure}");
                    Collector.Failed(failure);
                    continue;
                }
                var page = new ObjectBatchEncoder();
                foreach (PSObject record in results ?? new Collection<PSObject>())
                {
                    if (record != null)
                    {
                        page.AddWholeObject(record);
                    }
                }
                Collector.Page(page);
            }
        }

        /// <summary>
        /// A time as Search-UnifiedAuditLog's documentation writes UTC (a value without a zone
        /// would also be UTC; the Z leaves no doubt).
        /// </summary>
        private static string ServiceTime(DateTime time)
        {
            return time.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        }

        /// <summary>
        /// Runs a command of the caller's session; <paramref name="failure"/> is its first error,
        /// or a warning that means the request failed, or null.
        /// </summary>
        private Collection<PSObject> Invoke(CommandInfo command, Hashtable arguments, out string? failure)
        {
            using (PowerShell shell = PowerShell.Create(RunspaceMode.CurrentRunspace))
            {
                // Through '&': AddCommand(CommandInfo) would run a module's function outside its
                // module, where its own helpers are not found (ExchangeOnlineManagement's are).
                // Warnings come back in the output (a nested pipeline shows them on the host
                // instead of collecting them): some failures of the service are only warnings.
                shell.AddScript("param($command, $arguments) & $command @arguments 3>&1", useLocalScope: true)
                    .AddArgument(command)
                    .AddArgument(arguments);
                lock (_runningLock)
                {
                    _running = shell;
                }
                try
                {
                    Collection<PSObject> output = shell.Invoke();
                    failure = null;
                    if (shell.Streams.Error.Count > 0)
                    {
                        failure = shell.Streams.Error[0].ToString();
                    }
                    var results = new Collection<PSObject>();
                    var warnings = new List<WarningRecord>(shell.Streams.Warning);
                    foreach (PSObject? item in output)
                    {
                        if (item?.BaseObject is WarningRecord warning)
                        {
                            warnings.Add(warning);
                        }
                        else if (item != null)
                        {
                            results.Add(item);
                        }
                    }
                    foreach (WarningRecord warning in warnings)
                    {
                        string text = warning.Message ?? string.Empty;
                        if (failure == null && FailureWarnings.Any(w => text.IndexOf(w, StringComparison.OrdinalIgnoreCase) >= 0))
                        {
                            failure = text;
                        }
                        else
                        {
                            WriteVerbose($"{command.Name} warned: {text}");
                        }
                    }
                    return results;
                }
                finally
                {
                    lock (_runningLock)
                    {
                        _running = null;
                    }
                }
            }
        }

        private CommandInfo? FindCommand(string name)
        {
            CommandInfo? command = InvokeCommand.GetCommand(name, CommandTypes.Function | CommandTypes.Cmdlet | CommandTypes.Alias);
            while (command is AliasInfo alias)
            {
                command = alias.ResolvedCommand;
            }
            return command;
        }

        /// <summary>The collection: created at the start of EndProcessing, before anything else uses it.</summary>
        private CollectorHandle Collector => _collector ?? throw new InvalidOperationException("The collection was used before it was opened.");

        private static string Activity(string folder) => $"Saving audit records to {folder}";

        private void ShowProgress(string folder, CollectStep step)
        {
            if (_clock.Elapsed < _nextProgress)
            {
                return;
            }
            _nextProgress = _clock.Elapsed + ProgressInterval;
            _progressShown = true;
            WriteProgress(new ProgressRecord(ProgressId, Activity(folder),
                $"{step.WindowsDone:N0} windows done, {step.RecordsWritten:N0} records written")
            {
                PercentComplete = Math.Min(100, step.Permille / 10),
                CurrentOperation = $"window {step.Window}: {step.Start:yyyy-MM-dd HH:mm:ss} to {step.End:yyyy-MM-dd HH:mm:ss} UTC, session {step.Session}, page {step.Page}",
            });
        }

        // ---- the result ------------------------------------------------------------------------

        private void Report(MailAccessCollection summary)
        {
            if (summary.IncompleteWindows.Length > 0)
            {
                IEnumerable<string> named = summary.IncompleteWindows.Take(5).Select(w => w.ToString());
                string more = summary.IncompleteWindows.Length > 5 ? $"; and {summary.IncompleteWindows.Length - 5} more (see IncompleteWindows)" : string.Empty;
                WriteWarning($"The collection in {summary.Path} is incomplete: {summary.IncompleteWindows.Length} of {summary.Windows.Length} windows were not fetched completely: {string.Join("; ", named)}{more}. Run Save-MailAccessAuditLog -Path '{summary.Path}' again to fetch them; until then every answer over this folder says it may be truncated.");
            }
            else if (!summary.Settled)
            {
                WriteWarning($"The collection in {summary.Path} ends less than a day before it was fetched: the service delivers some records hours late. Run Save-MailAccessAuditLog -Path '{summary.Path}' again after {summary.EndDate.AddDays(1):yyyy-MM-dd HH:mm} UTC to fetch them.");
            }
        }

        // ---- the audit configuration --------------------------------------------------------

        private MailboxAuditCheck CheckAuditConfiguration(string mailbox)
        {
            var check = new MailboxAuditCheck { Mailbox = mailbox };
            var problems = new List<string>();
            CommandInfo? get = FindCommand("Get-EXOMailbox") ?? FindCommand("Get-Mailbox");
            if (get == null)
            {
                problems.Add("its audit configuration could not be read: neither Get-EXOMailbox nor Get-Mailbox is available");
            }
            else
            {
                check.Source = get.Name;
                var arguments = new Hashtable { ["Identity"] = mailbox };
                if (get.Name.Equals("Get-EXOMailbox", StringComparison.OrdinalIgnoreCase))
                {
                    arguments["Properties"] = new[] { "AuditEnabled", "AuditOwner", "AuditDelegate", "AuditAdmin", "DefaultAuditSet" };
                }
                PSObject? box = TryInvokeOne(get, arguments, problems, "its audit configuration could not be read");
                if (box != null)
                {
                    check.AuditEnabled = Flag(box, "AuditEnabled");
                    check.AuditOwner = Values(box, "AuditOwner");
                    check.AuditDelegate = Values(box, "AuditDelegate");
                    check.AuditAdmin = Values(box, "AuditAdmin");
                    check.DefaultAuditSet = Values(box, "DefaultAuditSet");
                    if (check.AuditEnabled == false)
                    {
                        problems.Add("mailbox auditing is off (AuditEnabled is False): no access to it is recorded");
                    }
                    foreach (var (logon, name, actions) in new[] { ("owner", "AuditOwner", check.AuditOwner), ("delegate", "AuditDelegate", check.AuditDelegate), ("admin", "AuditAdmin", check.AuditAdmin) })
                    {
                        if (actions == null)
                        {
                            problems.Add($"{name} could not be read, so whether {logon} reads are audited is unknown");
                        }
                        else if (!actions.Any(a => a.Equals("MailItemsAccessed", StringComparison.OrdinalIgnoreCase)))
                        {
                            problems.Add($"MailItemsAccessed is not audited for {logon} logons ({name}: {(actions.Length == 0 ? "none" : string.Join(", ", actions))}): {logon} reads leave no record; Set-Mailbox -Identity {mailbox} -{name} @{{Add='MailItemsAccessed'}} audits them from now on");
                        }
                    }
                }
            }
            CommandInfo? bypass = FindCommand("Get-MailboxAuditBypassAssociation");
            if (bypass == null)
            {
                problems.Add("whether an audit bypass is set could not be checked: Get-MailboxAuditBypassAssociation is not available");
            }
            else
            {
                PSObject? association = TryInvokeOne(bypass, new Hashtable { ["Identity"] = mailbox }, problems, "whether an audit bypass is set could not be checked");
                if (association != null)
                {
                    check.AuditBypassEnabled = Flag(association, "AuditBypassEnabled");
                    if (check.AuditBypassEnabled == true)
                    {
                        problems.Add("an audit bypass is set (AuditBypassEnabled is True): its access to mailboxes is not recorded");
                    }
                }
            }
            check.Problems = problems.ToArray();
            bool unreadable = check.AuditEnabled == null || check.AuditOwner == null || check.AuditDelegate == null || check.AuditAdmin == null || check.AuditBypassEnabled == null;
            bool failed = check.AuditEnabled == false || check.AuditBypassEnabled == true
                || new[] { check.AuditOwner, check.AuditDelegate, check.AuditAdmin }.Any(a => a != null && !a.Any(x => x.Equals("MailItemsAccessed", StringComparison.OrdinalIgnoreCase)));
            check.MailItemsAccessedAudited = failed ? false : unreadable ? (bool?)null : true;
            foreach (string problem in problems)
            {
                WriteWarning($"{mailbox}: {problem}.");
            }
            if (problems.Count == 0)
            {
                WriteVerbose($"{mailbox}: MailItemsAccessed is audited for owner, delegate and admin logons, and no audit bypass is set.");
            }
            return check;
        }

        private PSObject? TryInvokeOne(CommandInfo command, Hashtable arguments, List<string> problems, string what)
        {
            try
            {
                Collection<PSObject> results = Invoke(command, arguments, out string? failure);
                PSObject? first = results.FirstOrDefault(r => r != null);
                if (failure != null || first == null)
                {
                    problems.Add($"{what} ({command.Name}: {failure ?? "no result"})");
                }
                return failure == null ? first : null;
            }
            catch (RuntimeException e) when (!(e is PipelineStoppedException))
            {
                problems.Add($"{what} ({command.Name}: {e.Message})");
                return null;
            }
        }

        private static bool? Flag(PSObject o, string name)
        {
            object? value = o.Properties[name]?.Value;
            if (value is PSObject wrapped)
            {
                value = wrapped.BaseObject;
            }
            switch (value)
            {
                case bool b: return b;
                case string s when bool.TryParse(s.Trim(), out bool parsed): return parsed;
                default: return null;
            }
        }

        /// <summary>A multi-valued Exchange property: a list, or its text joined with commas.</summary>
        private static string[]? Values(PSObject o, string name)
        {
            PSPropertyInfo property = o.Properties[name];
            if (property == null)
            {
                return null;
            }
            object value = property.Value;
            if (value is PSObject wrapped)
            {
                value = wrapped.BaseObject;
            }
            if (value == null)
            {
                return new string[0];
            }
            IEnumerable<string> items = value is string text
                ? new[] { text }
                : value is IEnumerable list ? list.Cast<object>().Select(v => v?.ToString() ?? string.Empty) : new[] { value.ToString() ?? string.Empty };
            // Deserialized, a multi-valued property may also arrive as one text joined with commas.
            return items.SelectMany(v => v.Split(',')).Select(v => v.Trim()).Where(v => v.Length > 0).ToArray();
        }

        private static ObjectBatchEncoder EncodeChecks(MailboxAuditCheck[] checks)
        {
            var list = new ArrayList();
            foreach (MailboxAuditCheck c in checks)
            {
                list.Add(new Hashtable
                {
                    ["Mailbox"] = c.Mailbox,
                    ["CheckedAt"] = DateTime.UtcNow,
                    ["Source"] = c.Source,
                    ["MailItemsAccessedAudited"] = c.MailItemsAccessedAudited,
                    ["AuditEnabled"] = c.AuditEnabled,
                    ["AuditOwner"] = c.AuditOwner,
                    ["AuditDelegate"] = c.AuditDelegate,
                    ["AuditAdmin"] = c.AuditAdmin,
                    ["DefaultAuditSet"] = c.DefaultAuditSet,
                    ["AuditBypassEnabled"] = c.AuditBypassEnabled,
                    ["Problems"] = c.Problems,
                });
            }
            var encoder = new ObjectBatchEncoder(1024);
            encoder.AddWholeObject(list);
            return encoder;
        }

        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            _collector?.Dispose();
            _stopping.Dispose();
            GC.SuppressFinalize(this);
        }
    }
}
