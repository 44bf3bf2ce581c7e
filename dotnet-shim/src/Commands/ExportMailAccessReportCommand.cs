using System;
using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using MailAccessForensics.Native;

namespace MailAccessForensics.Commands
{
    /// <summary>
    /// Export-MailAccessReport: writes results (findings, and any of the module's other results)
    /// to a report: HTML for people (summary, timeline, findings, evidence, chain of custody),
    /// JSON or JSON Lines for other tools, or a CSV table that is safe to open. Findings bring
    /// their run (the chain of custody) with them; every value from the audit records is escaped
    /// in HTML, and CSV cells a spreadsheet would run as formulas are neutralised.
    /// </summary>
    [Cmdlet(VerbsData.Export, "MailAccessReport", SupportsShouldProcess = true, DefaultParameterSetName = PathSet)]
    [OutputType(typeof(FileInfo))]
    public sealed class ExportMailAccessReportCommand : PSCmdlet
    {
        private const string PathSet = "Path";
        private const string LiteralPathSet = "LiteralPath";

        private readonly ObjectBatchEncoder _items = new ObjectBatchEncoder();
        private readonly List<object> _runs = new List<object>();

        /// <summary>Results to report: CompromiseFinding objects and the other results of the module.</summary>
        [Parameter(Mandatory = true, ValueFromPipeline = true)]
        [ValidateNotNull]
        public PSObject? InputObject { get; set; }

        /// <summary>The file to write (.html, .csv, .json or .jsonl).</summary>
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet)]
        [ValidateNotNullOrEmpty]
        public string? Path { get; set; }

        /// <summary>The file to write, taken exactly as written (no wildcards).</summary>
        [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet)]
        [Alias("PSPath", "LP")]
        [ValidateNotNullOrEmpty]
        public string? LiteralPath { get; set; }

        /// <summary>Html, Csv, Json or JsonLines; by default from the file's extension.</summary>
        [Parameter]
        [ValidateSet("Html", "Csv", "Json", "JsonLines")]
        public string? Format { get; set; }

        /// <summary>The report's title (HTML).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string Title { get; set; } = ReportFile.DefaultTitle;

        /// <summary>The accounting of the run that produced the results (-SummaryVariable); findings bring their run's.</summary>
        [Parameter]
        public InputSummary? InputSummary { get; set; }

        /// <summary>Overwrite an existing file.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>Write the FileInfo of the report.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void BeginProcessing()
        {
            NativeLibraryLoader.EnsureLoaded();
        }

        protected override void ProcessRecord()
        {
            // Mandatory and [ValidateNotNull]: bound to an object for every ProcessRecord.
            PSObject input = InputObject ?? throw new PSArgumentNullException(nameof(InputObject));
            if (!IsFinding(input, out object? run))
            {
                _items.AddTypedObject(input);
                return;
            }
            if (run != null && !_runs.Exists(known => ReferenceEquals(known, run)))
            {
                _runs.Add(run);
            }
            ReportFile.AddFinding(_items, input);
        }

        /// <summary>Whether the object is a finding (also after Import-Clixml), and the run it refers to.</summary>
        private static bool IsFinding(PSObject item, out object? run)
        {
            run = null;
            if (item.BaseObject is CompromiseFinding finding)
            {
                run = finding.Run;
                return true;
            }
            string? type = item.TypeNames.Count > 0 ? item.TypeNames[0] : null;
            if (type == null || !type.EndsWith("MailAccessForensics.CompromiseFinding", StringComparison.Ordinal))
            {
                return false;
            }
            object? value = item.Properties[nameof(CompromiseFinding.Run)]?.Value;
            // Serialised too deep, a run is only its text: not a run to report.
            run = value is PSObject pso && !(pso.BaseObject is string) ? value : null;
            return true;
        }

        protected override void EndProcessing()
        {
            string? path = ResolvePath();
            if (path == null)
            {
                return;
            }
            string? format = Format ?? ReportFile.FormatOf(path);
            if (format == null)
            {
                ThrowTerminatingError(new ErrorRecord(new ArgumentException(ReportFile.UnknownExtension(path)), "MailAccessForensics.ReportFormatUnknown", ErrorCategory.InvalidArgument, path));
                return; // ThrowTerminatingError always throws (it is not annotated [DoesNotReturn]).
            }
            if (_runs.Count > 1)
            {
                ThrowTerminatingError(new ErrorRecord(
                    new ArgumentException($"The findings come from {_runs.Count} runs of Get-CompromisedMailAccess: a report holds one run's chain of custody. Export each run's findings to its own report."),
                    "MailAccessForensics.ReportOfSeveralRuns", ErrorCategory.InvalidArgument, null));
            }
            if (ReportFile.HoldsRun(format))
            {
                if (_runs.Count == 1)
                {
                    ReportFile.AddRun(_items, _runs[0]);
                }
                if (InputSummary != null)
                {
                    _items.AddTypedObject(PSObject.AsPSObject(InputSummary));
                }
            }
            bool exists = File.Exists(path);
            string action = exists
                ? (Force ? $"Overwrite with a {format} report of {_items.Count} objects" : $"Write a {format} report of {_items.Count} objects (fails: the file exists and -Force is not given)")
                : $"Write a {format} report of {_items.Count} objects";
            if (!ShouldProcess(path, action))
            {
                return;
            }
            if (exists && !Force)
            {
                ThrowTerminatingError(new ErrorRecord(new IOException($"'{path}' exists: use -Force to overwrite it."), "MailAccessForensics.ReportExists", ErrorCategory.ResourceExists, path));
            }
            byte[] text;
            try
            {
                text = ReportFile.Render(_items, format, Title);
            }
            catch (NativeCallException e)
            {
                ThrowTerminatingError(EngineError.Record(e));
                return;
            }
            ReportFile.Write(path, format, text, overwrite: Force);
            if (PassThru)
            {
                WriteObject(new FileInfo(path));
            }
        }

        /// <summary>
        /// The file to write. -Path may name an existing file with wildcards (one match);
        /// -LiteralPath is taken as written. Either must be on the file system.
        /// </summary>
        private string? ResolvePath()
        {
            ProviderInfo? provider;
            string path;
            if (ParameterSetName == LiteralPathSet)
            {
                path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(LiteralPath, out provider, out _);
            }
            else if (WildcardPattern.ContainsWildcardCharacters(Path))
            {
                var matches = new List<string>();
                try
                {
                    matches.AddRange(SessionState.Path.GetResolvedProviderPathFromPSPath(Path, out provider));
                }
                catch (ItemNotFoundException)
                {
                    provider = null;
                }
                if (matches.Count != 1)
                {
                    string why = matches.Count == 0 ? "matches no file" : $"matches {matches.Count} files";
                    ThrowTerminatingError(new ErrorRecord(new ArgumentException($"-Path '{Path}' {why}: to write a file whose name has wildcard characters ([, ], *, ?), use -LiteralPath."), "MailAccessForensics.ReportPathAmbiguous", ErrorCategory.InvalidArgument, Path));
                }
                path = matches[0];
            }
            else
            {
                path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path, out provider, out _);
            }
            if (provider != null && provider.ImplementingType != typeof(Microsoft.PowerShell.Commands.FileSystemProvider))
            {
                ThrowTerminatingError(new ErrorRecord(new ArgumentException($"'{path}' is not a file-system path (provider {provider.Name})."), "MailAccessForensics.NotAFile", ErrorCategory.InvalidArgument, path));
            }
            return path;
        }
    }
}
