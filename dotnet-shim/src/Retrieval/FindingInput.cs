using System;
using System.Globalization;
using System.Management.Automation;

namespace MailAccessForensics.Retrieval
{
    /// <summary>
    /// A finding as New-MailAccessRetrievalScript reads it: a CompromiseFinding, or one that went
    /// through Export-Clixml and Import-Clixml (a Deserialized.MailAccessForensics.CompromiseFinding,
    /// whose Kind is then a number that prints as its name).
    /// </summary>
    internal sealed class FindingInput
    {
        private const string TypeName = "MailAccessForensics.CompromiseFinding";

        internal string KindName { get; private set; } = string.Empty;
        /// <summary>Null when this version of the module does not know the kind.</summary>
        internal CompromiseKind? Kind { get; private set; }
        internal string? Mailbox { get; private set; }
        internal string? FolderPath { get; private set; }
        internal string? InternetMessageId { get; private set; }
        internal DateTime Start { get; private set; }
        internal DateTime End { get; private set; }
        internal string? Reason { get; private set; }
        internal string[] EvidenceRecordIds { get; private set; } = Array.Empty<string>();
        internal object? Source { get; private set; }

        /// <summary>Reads a finding, or says why the object is not one.</summary>
        internal static FindingInput? Read(PSObject input, out string? error)
        {
            error = null;
            if (input.BaseObject is CompromiseFinding finding)
            {
                return new FindingInput
                {
                    KindName = finding.Kind.ToString(),
                    Kind = Enum.IsDefined(typeof(CompromiseKind), finding.Kind) ? finding.Kind : (CompromiseKind?)null,
                    Mailbox = finding.Mailbox,
                    FolderPath = finding.FolderPath,
                    InternetMessageId = finding.InternetMessageId,
                    Start = finding.Start,
                    End = finding.End,
                    Reason = finding.Reason,
                    EvidenceRecordIds = finding.EvidenceRecordIds ?? new string[0],
                    Source = finding,
                };
            }
            if (!input.TypeNames.Contains(TypeName) && !input.TypeNames.Contains("Deserialized." + TypeName))
            {
                error = $"it is a {input.TypeNames[0]}, not a {TypeName} (the output of Get-CompromisedMailAccess)";
                return null;
            }
            var read = new FindingInput { Source = input };
            string? kindName = KindNameOf(input.Properties["Kind"]?.Value);
            if (kindName == null)
            {
                error = "it has no Kind";
                return null;
            }
            read.KindName = kindName;
            if (Enum.TryParse(read.KindName, true, out CompromiseKind kind) && Enum.IsDefined(typeof(CompromiseKind), kind))
            {
                read.Kind = kind;
                read.KindName = kind.ToString();
            }
            read.Mailbox = Text(input, "Mailbox");
            read.FolderPath = Text(input, "FolderPath");
            read.InternetMessageId = Text(input, "InternetMessageId");
            read.Reason = Text(input, "Reason");
            object? evidence = input.Properties["EvidenceRecordIds"]?.Value;
            read.EvidenceRecordIds = evidence == null ? new string[0] : LanguagePrimitives.ConvertTo<string[]>(evidence);
            if (!TryTime(input, "Start", out DateTime start, out error) || !TryTime(input, "End", out DateTime end, out error))
            {
                return null;
            }
            read.Start = start;
            read.End = end;
            return read;
        }

        private static string? KindNameOf(object? value)
        {
            switch (value)
            {
                case null:
                    return null;
                case PSObject wrapped when wrapped.BaseObject is string name:
                    return name;
                case PSObject wrapped:
                    // A deserialized enum: its number, printed as the name it had.
                    return wrapped.ToString();
                default:
                    return Convert.ToString(value, CultureInfo.InvariantCulture);
            }
        }

        private static string? Text(PSObject input, string name)
        {
            object? value = input.Properties[name]?.Value;
            if (value is PSObject wrapped)
            {
                value = wrapped.BaseObject;
            }
            return value == null ? null : Convert.ToString(value, CultureInfo.InvariantCulture);
        }

        private static bool TryTime(PSObject input, string name, out DateTime time, out string? error)
        {
            error = null;
            object? value = input.Properties[name]?.Value;
            if (value is PSObject wrapped)
            {
                value = wrapped.BaseObject;
            }
            switch (value)
            {
                case DateTime given:
                    time = Utc(given);
                    return true;
                case DateTimeOffset offset:
                    time = offset.UtcDateTime;
                    return true;
                case string text when DateTime.TryParse(text, CultureInfo.InvariantCulture,
                        DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out DateTime parsed):
                    time = DateTime.SpecifyKind(parsed, DateTimeKind.Utc);
                    return true;
                default:
                    time = default;
                    error = $"its {name} is not a time";
                    return false;
            }
        }

        /// <summary>Times are UTC: a local time is converted, one of no kind is taken as UTC.</summary>
        internal static DateTime Utc(DateTime time)
        {
            return time.Kind == DateTimeKind.Local ? time.ToUniversalTime() : DateTime.SpecifyKind(time, DateTimeKind.Utc);
        }

        /// <summary>A short description of the finding, for messages.</summary>
        internal string Describe()
        {
            string? target = InternetMessageId ?? FolderPath;
            return $"{KindName} finding of {Mailbox ?? "no mailbox"}{(target == null ? "" : " (" + target + ")")}";
        }

        /// <summary>Two findings with the same key ask for the same retrieval.</summary>
        internal string Key()
        {
            return string.Join("\n", KindName, (Mailbox ?? "").ToLowerInvariant(), FolderPath ?? "", InternetMessageId ?? "",
                Start.Ticks.ToString(CultureInfo.InvariantCulture), End.Ticks.ToString(CultureInfo.InvariantCulture));
        }
    }
}
