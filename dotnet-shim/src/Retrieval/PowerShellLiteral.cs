using System;
using System.Globalization;
using System.Management.Automation.Language;
using System.Text;

namespace MailAccessForensics.Retrieval
{
    /// <summary>
    /// Writes audit strings into PowerShell text as data, never as code: a single-quoted string
    /// literal escaped with PowerShell's own rules (every kind of single quote doubled: ' ‘ ’ ‚ ‛),
    /// which is the one kind of literal in which PowerShell expands nothing.
    /// </summary>
    internal static class PowerShellLiteral
    {
        private static readonly UTF8Encoding StrictUtf8 = new UTF8Encoding(false, true);

        /// <summary>The value as a single-quoted string literal.</summary>
        internal static string Quote(string value)
        {
            return "'" + CodeGeneration.EscapeSingleQuotedStringContent(value) + "'";
        }

        /// <summary>
        /// True when the value holds a character that would make the script's text read as
        /// something other than the value (control characters, line breaks, invisible
        /// formatting such as bidirectional overrides): such a value is written as Base64 of
        /// its UTF-8 bytes instead, so what a reader sees is what the script uses, and a change
        /// of line endings cannot alter it.
        /// </summary>
        internal static bool NeedsEncoding(string value)
        {
            for (int i = 0; i < value.Length; i++)
            {
                switch (CharUnicodeInfo.GetUnicodeCategory(value, i))
                {
                    case UnicodeCategory.Control:
                    case UnicodeCategory.Format:
                    case UnicodeCategory.LineSeparator:
                    case UnicodeCategory.ParagraphSeparator:
                    case UnicodeCategory.Surrogate:
                        return true;
                }
                if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
                {
                    i++;
                }
            }
            return false;
        }

        /// <summary>A surrogate without its pair cannot be written as UTF-8 faithfully.</summary>
        internal static bool HasUnpairedSurrogate(string value)
        {
            for (int i = 0; i < value.Length; i++)
            {
                if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
                {
                    i++;
                }
                else if (char.IsSurrogate(value[i]))
                {
                    return true;
                }
            }
            return false;
        }

        /// <summary>Base64 of the value's UTF-8 bytes (the value must have no unpaired surrogate).</summary>
        internal static string Base64(string value)
        {
            return Convert.ToBase64String(StrictUtf8.GetBytes(value));
        }
    }
}
