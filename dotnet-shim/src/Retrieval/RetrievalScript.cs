using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;

namespace MailAccessForensics.Retrieval
{
    /// <summary>
    /// The retrieval script: the template (RetrievalScript.template.ps1, embedded in the assembly)
    /// with the plan written into it as a data table. The template is the script's whole code;
    /// the only text that comes from the findings is the table, made of single-quoted literals.
    /// </summary>
    internal static class RetrievalScript
    {
        private const string ResourceName = "MailAccessForensics.RetrievalScript.template.ps1";
        private const string PlanMarker = "# {{PLAN}}";
        private const string GeneratorMarker = "{{GENERATOR}}";
        private const string CountMarker = "{{COUNT}}";
        private const string NewLine = "\r\n";

        /// <summary>The template as shipped, with its line endings made CRLF.</summary>
        internal static string Template()
        {
            using (Stream? stream = typeof(RetrievalScript).Assembly.GetManifestResourceStream(ResourceName))
            {
                if (stream == null)
                {
                    throw new InvalidOperationException($"The assembly holds no resource {ResourceName}: the module is not built right.");
                }
                using (var reader = new StreamReader(stream, Encoding.UTF8))
                {
                    return reader.ReadToEnd().Replace("\r\n", "\n").Replace("\n", NewLine);
                }
            }
        }

        /// <summary>The script for a plan.</summary>
        internal static string Render(IReadOnlyList<PlanEntry> entries, string generator)
        {
            string template = Template();
            foreach (string marker in new[] { PlanMarker, GeneratorMarker, CountMarker })
            {
                int first = template.IndexOf(marker, StringComparison.Ordinal);
                if (first < 0 || template.IndexOf(marker, first + 1, StringComparison.Ordinal) >= 0)
                {
                    throw new InvalidOperationException($"The retrieval script's template must hold {marker} exactly once.");
                }
            }
            // The plan goes in last, so that no marker a value might hold is replaced.
            return template
                .Replace(GeneratorMarker, generator)
                .Replace(CountMarker, entries.Count.ToString(CultureInfo.InvariantCulture))
                .Replace(PlanMarker, DataTable(entries));
        }

        /// <summary>
        /// $Plan = @( @{ Name = 'value'; ... } ... ): names are ours, values single-quoted
        /// literals (or, for a value with control or formatting characters, its Base64 under
        /// Name + 'Base64'). Nothing else.
        /// </summary>
        private static string DataTable(IReadOnlyList<PlanEntry> entries)
        {
            var text = new StringBuilder();
            text.Append("$Plan = @(").Append(NewLine);
            foreach (PlanEntry entry in entries)
            {
                text.Append("    @{").Append(NewLine);
                foreach (KeyValuePair<string, string> value in entry.Values)
                {
                    text.Append("        ");
                    if (PowerShellLiteral.NeedsEncoding(value.Value))
                    {
                        text.Append(value.Key).Append("Base64 = ").Append(PowerShellLiteral.Quote(PowerShellLiteral.Base64(value.Value)));
                    }
                    else
                    {
                        text.Append(value.Key).Append(" = ").Append(PowerShellLiteral.Quote(value.Value));
                    }
                    text.Append(NewLine);
                }
                text.Append("    }").Append(NewLine);
            }
            text.Append(")");
            return text.ToString();
        }
    }
}
