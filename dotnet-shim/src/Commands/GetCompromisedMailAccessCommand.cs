using System;
using System.Collections;
using System.Collections.Generic;
using System.Collections.Specialized;
using System.IO;
using System.Management.Automation;
using MailAccessForensics.Native;

namespace MailAccessForensics.Commands
{
    /// <summary>
    /// Get-CompromisedMailAccess: which mail must be treated as compromised, given what is known
    /// of the attacker, with the evidence for each answer. By default the attacker is followed
    /// across addresses and sessions (a session seen from an attacker address is the attacker's,
    /// and an address used by an attacker session is the attacker's), except through addresses
    /// and sessions others used before the attacker's known activity. -Mailbox and -UserIds
    /// choose the findings reported; every record takes part in attribution.
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "CompromisedMailAccess", DefaultParameterSetName = InputObjectSet)]
    [OutputType(typeof(CompromiseFinding))]
    public sealed class GetCompromisedMailAccessCommand : MailAccessAnalysisCommand
    {
        /// <summary>The attacker's addresses or CIDR ranges (IPv4 or IPv6).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[]? AttackerIPAddress { get; set; }

        /// <summary>The attacker's sessions (SessionId).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[]? AttackerSessionId { get; set; }

        /// <summary>The attacker's clients (ClientInfoString; wildcards allowed).</summary>
        [Parameter]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        public string[]? AttackerClientInfoString { get; set; }

        /// <summary>The attacker's applications (matched against AppId and ClientAppId).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[]? AttackerAppId { get; set; }

        /// <summary>The attacker's Entra sessions (AppAccessContext.AADSessionId).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[]? AttackerAadSessionId { get; set; }

        /// <summary>Only records matching an indicator are the attacker's: do not follow links.</summary>
        [Parameter]
        public SwitchParameter NoContextExpansion { get; set; }

        /// <summary>
        /// Follow also addresses and sessions that other contexts used before the attacker's
        /// known activity (reported as SharedIndicator and not followed without it).
        /// </summary>
        [Parameter]
        public SwitchParameter ExpandSharedIndicator { get; set; }

        /// <summary>
        /// Also write the report of the run to this file (.html, .json, .jsonl or .csv), even when
        /// nothing is found. The file must not exist.
        /// </summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? ReportPath { get; set; }

        private string? _reportFile;
        private string? _reportFormat;

        private protected override AnalysisName AnalysisName => AnalysisName.Verdict;

        private static readonly string[] IndicatorParameters =
        {
            nameof(AttackerIPAddress), nameof(AttackerSessionId), nameof(AttackerClientInfoString), nameof(AttackerAppId),
            nameof(AttackerAadSessionId),
        };

        protected override void BeginProcessing()
        {
            if (ReportPath != null)
            {
                // Before any record is read: a report that cannot be written is known now.
                _reportFile = SessionState.Path.GetUnresolvedProviderPathFromPSPath(ReportPath);
                _reportFormat = ReportFile.FormatOf(_reportFile);
                if (_reportFormat == null)
                {
                    ThrowTerminatingError(new ErrorRecord(new ArgumentException(ReportFile.UnknownExtension(_reportFile)), "MailAccessForensics.ReportFormatUnknown", ErrorCategory.InvalidArgument, ReportPath));
                    return; // ThrowTerminatingError always throws (it is not annotated [DoesNotReturn]).
                }
                if (File.Exists(_reportFile) || Directory.Exists(_reportFile))
                {
                    ThrowTerminatingError(new ErrorRecord(new IOException($"'{_reportFile}' exists: give another -ReportPath, or remove it (Export-MailAccessReport -Force overwrites)."), "MailAccessForensics.ReportExists", ErrorCategory.ResourceExists, _reportFile));
                }
                string? folder = System.IO.Path.GetDirectoryName(_reportFile);
                if (!string.IsNullOrEmpty(folder) && !Directory.Exists(folder))
                {
                    ThrowTerminatingError(new ErrorRecord(new DirectoryNotFoundException($"The folder of -ReportPath does not exist: '{folder}'."), "MailAccessForensics.ReportFolderNotFound", ErrorCategory.ObjectNotFound, folder));
                }
            }
            base.BeginProcessing();
        }

        private protected override void DescribeRun(MailAccessRun run)
        {
            var indicators = new OrderedDictionary();
            foreach (string name in IndicatorParameters)
            {
                if (run.Parameters.Contains(name))
                {
                    indicators[name] = run.Parameters[name];
                }
            }
            run.Indicators = indicators;
            run.ContextExpansion = !NoContextExpansion.IsPresent;
            run.SharedIndicatorExpansion = ExpandSharedIndicator.IsPresent;
        }

        /// <summary>
        /// The run is complete before any finding is written: every finding refers to it, and the
        /// report (-ReportPath) is written first, so that it exists even when the pipeline stops
        /// after the first finding. So, unlike the steps, the verdict holds all its findings.
        /// </summary>
        private protected override void WriteResults(AnalysisHandle analysis, string[] warnings, InputSummary summary)
        {
            var results = new List<object>();
            analysis.Read(FileName, results.Add);
            var findings = new List<CompromiseFinding>();
            foreach (object result in results)
            {
                if (result is CompromiseFinding finding)
                {
                    findings.Add(finding);
                }
            }
            MailAccessRun run = CompleteRun(summary, findings.Count);
            foreach (CompromiseFinding finding in findings)
            {
                finding.Run = run;
            }
            foreach (string warning in warnings)
            {
                WriteWarning(warning);
            }
            // Both are set together (an unknown format ends the command in BeginProcessing).
            if (_reportFile is string file && _reportFormat is string format)
            {
                WriteReport(run, findings, file, format);
            }
            foreach (object result in results)
            {
                WriteObject(result);
            }
        }

        private void WriteReport(MailAccessRun run, List<CompromiseFinding> findings, string file, string format)
        {
            var items = new ObjectBatchEncoder();
            if (ReportFile.HoldsRun(format))
            {
                ReportFile.AddRun(items, run);
            }
            foreach (CompromiseFinding finding in findings)
            {
                ReportFile.AddFinding(items, PSObject.AsPSObject(finding));
            }
            try
            {
                ReportFile.Write(file, format, ReportFile.Render(items, format, null), overwrite: false);
                WriteVerbose($"Wrote the report of the run to {file}.");
            }
            catch (NativeCallException e)
            {
                WriteError(EngineError.Record(e));
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                // The findings still come out: the report alone failed.
                WriteError(new ErrorRecord(e, "MailAccessForensics.ReportNotWritten", ErrorCategory.WriteError, file));
            }
        }

        private protected override void AddAnalysisOptions(IDictionary options)
        {
            if (AttackerIPAddress != null)
            {
                options["AttackerIPAddress"] = AttackerIPAddress;
            }
            if (AttackerSessionId != null)
            {
                options["AttackerSessionId"] = AttackerSessionId;
            }
            if (AttackerClientInfoString != null)
            {
                options["AttackerClientInfoString"] = AttackerClientInfoString;
            }
            if (AttackerAppId != null)
            {
                options["AttackerAppId"] = AttackerAppId;
            }
            if (AttackerAadSessionId != null)
            {
                options["AttackerAadSessionId"] = AttackerAadSessionId;
            }
            options["NoContextExpansion"] = NoContextExpansion.IsPresent;
            options["ExpandSharedIndicator"] = ExpandSharedIndicator.IsPresent;
        }
    }
}
