using System;
using System.Collections;
using System.IO;
using System.Management.Automation;
using System.Text;
using MailAccessForensics.Native;

namespace MailAccessForensics.Commands
{
    /// <summary>
    /// Export-MailAccessReport: writes results (findings, and any of the module's other results)
    /// to an HTML report or a CSV file that is safe to open: every value from the audit records
    /// is escaped in HTML, and CSV cells a spreadsheet would run as formulas are neutralised.
    /// </summary>
    [Cmdlet(VerbsData.Export, "MailAccessReport", SupportsShouldProcess = true)]
    [OutputType(typeof(FileInfo))]
    public sealed class ExportMailAccessReportCommand : PSCmdlet
    {
        private readonly ObjectBatchEncoder _items = new ObjectBatchEncoder();

        /// <summary>Results to report: CompromiseFinding objects and the other results of the module.</summary>
        [Parameter(Mandatory = true, ValueFromPipeline = true)]
        [ValidateNotNull]
        public PSObject InputObject { get; set; }

        /// <summary>The file to write (.html or .csv).</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; }

        /// <summary>Html or Csv; by default from the file's extension.</summary>
        [Parameter]
        [ValidateSet("Html", "Csv")]
        public string Format { get; set; }

        /// <summary>The report's title (HTML).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string Title { get; set; } = "MailItemsAccessed investigation";

        /// <summary>The accounting of the run that produced the results (-SummaryVariable), shown at the top (HTML).</summary>
        [Parameter]
        public InputSummary InputSummary { get; set; }

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
            _items.AddTypedObject(InputObject);
        }

        protected override void EndProcessing()
        {
            string path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
            string format = Format ?? (path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) ? "Csv" : "Html");
            if (File.Exists(path) && !Force)
            {
                ThrowTerminatingError(new ErrorRecord(new IOException($"'{path}' exists: use -Force to overwrite it."), "MailAccessForensics.ReportExists", ErrorCategory.ResourceExists, path));
            }
            if (InputSummary != null && format == "Html")
            {
                _items.AddTypedObject(PSObject.AsPSObject(InputSummary));
            }
            if (!ShouldProcess(path, $"Write a {format} report of {_items.Count} results"))
            {
                return;
            }
            byte[] text;
            try
            {
                text = Render(format);
            }
            catch (NativeCallException e)
            {
                ThrowTerminatingError(EngineError.Record(e));
                return;
            }
            using (var file = new FileStream(path, FileMode.Create, FileAccess.Write))
            {
                if (format == "Csv")
                {
                    // Spreadsheets take a CSV as UTF-8 only with the byte order mark.
                    byte[] bom = Encoding.UTF8.GetPreamble();
                    file.Write(bom, 0, bom.Length);
                }
                file.Write(text, 0, text.Length);
            }
            if (PassThru)
            {
                WriteObject(new FileInfo(path));
            }
        }

        private unsafe byte[] Render(string format)
        {
            var options = new ObjectBatchEncoder(256);
            string version = typeof(ExportMailAccessReportCommand).Assembly.GetName().Version.ToString(3);
            options.AddMap(new Hashtable { ["Format"] = format, ["Title"] = Title, ["Generator"] = $"MailAccessForensics {version}" });
            MafReport* report = null;
            fixed (byte* items = _items.Buffer)
            fixed (byte* opts = options.Buffer)
            {
                NativeCall.Check(NativeMethods.maf_report_render(items, (nuint)_items.Length, opts, (nuint)options.Length, &report));
            }
            try
            {
                var text = new byte[report->text_len];
                if (text.Length > 0)
                {
                    fixed (byte* destination = text)
                    {
                        Buffer.MemoryCopy(report->text, destination, text.Length, text.Length);
                    }
                }
                return text;
            }
            finally
            {
                NativeMethods.maf_report_free(report);
            }
        }
    }
}
