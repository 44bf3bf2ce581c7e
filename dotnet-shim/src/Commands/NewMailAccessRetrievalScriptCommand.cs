using System;
using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using System.Text;
using MailAccessForensics.Retrieval;

namespace MailAccessForensics.Commands
{
    /// <summary>
    /// New-MailAccessRetrievalScript: from the findings of Get-CompromisedMailAccess, writes a
    /// Microsoft Graph PowerShell script that fetches the mail they name (the messages read, what
    /// the synced folders held, what the mailbox held when it was not audited), and emits one
    /// MessageRetrieval per retrieval planned. The values from the audit records are data in the
    /// script, never code.
    /// </summary>
    [Cmdlet(VerbsCommon.New, "MailAccessRetrievalScript", SupportsShouldProcess = true)]
    [OutputType(typeof(MessageRetrieval))]
    public sealed class NewMailAccessRetrievalScriptCommand : PSCmdlet
    {
        /// <summary>Kinds that describe the attacker, not mail: nothing to retrieve.</summary>
        private static readonly HashSet<string> KindsWithoutMail = new HashSet<string>(StringComparer.Ordinal)
        {
            nameof(CompromiseKind.AttackerIndicator), "SharedIndicator",
        };

        private readonly RetrievalPlan _plan = new RetrievalPlan();
        private readonly SortedDictionary<string, int> _withoutMail = new SortedDictionary<string, int>(StringComparer.Ordinal);
        private readonly SortedDictionary<string, int> _unknownKinds = new SortedDictionary<string, int>(StringComparer.Ordinal);
        private string _path = string.Empty;
        private int _read;

        /// <summary>Findings (CompromiseFinding objects) from Get-CompromisedMailAccess.</summary>
        [Parameter(Mandatory = true, ValueFromPipeline = true)]
        [ValidateNotNull]
        public PSObject? InputObject { get; set; }

        /// <summary>The script to write (.ps1).</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = string.Empty;

        /// <summary>Overwrite an existing file.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        protected override void BeginProcessing()
        {
            _path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
            if (File.Exists(_path) && !Force)
            {
                ThrowTerminatingError(new ErrorRecord(new IOException($"'{_path}' exists: use -Force to overwrite it."),
                    "MailAccessForensics.RetrievalScriptExists", ErrorCategory.ResourceExists, _path));
            }
        }

        protected override void ProcessRecord()
        {
            _read++;
            // Mandatory and [ValidateNotNull]: bound to an object for every ProcessRecord.
            PSObject input = InputObject ?? throw new PSArgumentNullException(nameof(InputObject));
            FindingInput? finding = FindingInput.Read(input, out string? error);
            if (finding == null)
            {
                WriteInvalid(input, $"Not a finding: {error}. It is left out of the retrieval script.");
                return;
            }
            if (finding.Kind == null || !RetrievalPlan.NeedsRetrieval(finding.Kind.Value))
            {
                SortedDictionary<string, int> tally = KindsWithoutMail.Contains(finding.KindName) ? _withoutMail : _unknownKinds;
                tally.TryGetValue(finding.KindName, out int count);
                tally[finding.KindName] = count + 1;
                return;
            }
            error = _plan.Add(finding);
            if (error != null)
            {
                WriteInvalid(input, $"The {finding.Describe()} cannot be retrieved: {error}. It is left out of the retrieval script.");
            }
        }

        protected override void EndProcessing()
        {
            foreach (KeyValuePair<string, int> kind in _withoutMail)
            {
                WriteVerbose($"{kind.Value} {kind.Key} finding(s) need no retrieval: they describe the attacker, not mail.");
            }
            foreach (KeyValuePair<string, int> kind in _unknownKinds)
            {
                WriteWarning($"{kind.Value} finding(s) of kind '{kind.Key}', which this version of MailAccessForensics does not know: no retrieval is planned for them.");
            }
            foreach (string mailbox in _plan.UnaddressableMailboxes)
            {
                WriteWarning($"The mailbox '{mailbox}' is neither a user principal name nor an object id, which is how Microsoft Graph finds a mailbox: its retrievals will fail unless it is one (a placeholder of a sanitised export?).");
            }
            if (_plan.Duplicates > 0)
            {
                WriteVerbose($"{_plan.Duplicates} finding(s) repeated one given before: planned once.");
            }
            if (_plan.Retrievals.Count == 0)
            {
                WriteWarning($"None of the {_read} object(s) given names mail to retrieve: the script has nothing to do.");
            }
            WriteVerbose($"{_read} object(s) read, {_plan.Retrievals.Count} retrieval(s) planned.");

            if (ShouldProcess(_path, $"Write a retrieval script of {_plan.Retrievals.Count} retrievals"))
            {
                string? version = typeof(NewMailAccessRetrievalScriptCommand).Assembly.GetName().Version?.ToString(3);
                string script;
                try
                {
                    script = RetrievalScript.Render(_plan.Entries, $"MailAccessForensics {version}");
                }
                catch (InvalidOperationException e)
                {
                    ThrowTerminatingError(new ErrorRecord(e, "MailAccessForensics.RetrievalTemplate", ErrorCategory.NotInstalled, null));
                    return;
                }
                // UTF-8 with a byte order mark: Windows PowerShell reads a script without one in
                // the system's code page, which would change every non-ASCII value of the plan.
                try
                {
                    File.WriteAllText(_path, script, new UTF8Encoding(true));
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
                {
                    ThrowTerminatingError(new ErrorRecord(e, "MailAccessForensics.RetrievalScriptNotWritten", ErrorCategory.WriteError, _path));
                }
            }
            foreach (MessageRetrieval retrieval in _plan.Retrievals)
            {
                WriteObject(retrieval);
            }
        }

        private void WriteInvalid(PSObject input, string message)
        {
            WriteError(new ErrorRecord(new ArgumentException(message), "MailAccessForensics.RetrievalFindingInvalid", ErrorCategory.InvalidData, input));
        }
    }
}
