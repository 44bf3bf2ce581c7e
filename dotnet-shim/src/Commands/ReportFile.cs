using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using System.Text;
using MailAccessForensics.Native;

namespace MailAccessForensics.Commands
{
    /// <summary>
    /// Writing a report file, for Export-MailAccessReport and Get-CompromisedMailAccess
    /// -ReportPath: the format from the file's extension, the objects encoded for the engine
    /// (which renders every format), and the file written.
    /// </summary>
    internal static class ReportFile
    {
        internal const string DefaultTitle = "MailItemsAccessed investigation";

        /// <summary>The run is reported once, not inside every finding.</summary>
        private static readonly HashSet<string> NotInFindings = new HashSet<string>(StringComparer.Ordinal) { nameof(CompromiseFinding.Run) };

        /// <summary>Html, Csv, Json or JsonLines for a file's extension; null for any other.</summary>
        internal static string? FormatOf(string path)
        {
            switch (System.IO.Path.GetExtension(path).ToLowerInvariant())
            {
                case ".html":
                case ".htm":
                    return "Html";
                case ".csv":
                    return "Csv";
                case ".json":
                    return "Json";
                case ".jsonl":
                case ".ndjson":
                    return "JsonLines";
                default:
                    return null;
            }
        }

        internal static string UnknownExtension(string path)
        {
            return $"'{path}': a report is written as .html, .csv, .json or .jsonl; give one of these extensions, or -Format.";
        }

        /// <summary>Whether the format holds the run and the accounting (a CSV is one table of results).</summary>
        internal static bool HoldsRun(string format) => format != "Csv";

        /// <summary>A finding, without its run (which the report holds once).</summary>
        internal static void AddFinding(ObjectBatchEncoder items, PSObject finding)
        {
            items.AddTypedObject(finding, NotInFindings);
        }

        /// <summary>The run of the findings (once), and then everything else.</summary>
        internal static void AddRun(ObjectBatchEncoder items, object run)
        {
            items.AddTypedObject(PSObject.AsPSObject(run));
        }

        internal static unsafe byte[] Render(ObjectBatchEncoder items, string format, string? title)
        {
            var options = new ObjectBatchEncoder(256);
            string? version = typeof(ReportFile).Assembly.GetName().Version?.ToString(3);
            options.AddMap(new Hashtable { ["Format"] = format, ["Title"] = title ?? DefaultTitle, ["Generator"] = $"MailAccessForensics {version}" });
            MafReport* report = null;
            fixed (byte* buffer = items.Buffer)
            fixed (byte* opts = options.Buffer)
            {
                NativeCall.Check(NativeMethods.maf_report_render(buffer, (nuint)items.Length, opts, (nuint)options.Length, &report));
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

        /// <summary>Writes the report; an existing file only when <paramref name="overwrite"/>.</summary>
        internal static void Write(string path, string format, byte[] text, bool overwrite)
        {
            using (var file = new FileStream(path, overwrite ? FileMode.Create : FileMode.CreateNew, FileAccess.Write))
            {
                if (format == "Csv")
                {
                    // Spreadsheets take a CSV as UTF-8 only with the byte order mark.
                    byte[] bom = Encoding.UTF8.GetPreamble();
                    file.Write(bom, 0, bom.Length);
                }
                file.Write(text, 0, text.Length);
            }
        }
    }
}
