using System;
using System.Collections.Specialized;

namespace MailAccessForensics
{
    /// <summary>
    /// Marks the module's objects that a report writes out field by field when they appear
    /// inside another object (a finding's evidence, a run's inputs), rather than as one line of
    /// text.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, Inherited = false)]
    internal sealed class ReportedAsObjectAttribute : Attribute
    {
    }

    /// <summary>
    /// One run of an analysis cmdlet, for the chain of custody: what was asked (parameters,
    /// indicators, period), what was read (every input, with the SHA-256 of each file) and how
    /// every record was accounted for, what was said (warnings, records that could not be read),
    /// with what (versions), where, by whom and when. Every finding of a run refers to the same
    /// object.
    /// </summary>
    [ReportedAsObject]
    public sealed class MailAccessRun
    {
        internal MailAccessRun()
        {
        }

        /// <summary>A new identifier for each run, to tie findings exported separately to their run.</summary>
        public string Id { get; internal set; } = string.Empty;
        public string Command { get; internal set; } = string.Empty;
        /// <summary>The parameters as bound (pipeline input left out), by name.</summary>
        public OrderedDictionary Parameters { get; internal set; } = new OrderedDictionary();
        /// <summary>The attacker indicators given (-AttackerIPAddress, ...), by parameter name.</summary>
        public OrderedDictionary? Indicators { get; internal set; }
        /// <summary>False with -NoContextExpansion.</summary>
        public bool? ContextExpansion { get; internal set; }
        /// <summary>
        /// True with -ExpandSharedIndicator: addresses and sessions others used before the
        /// attacker's known activity were followed too (otherwise reported as SharedIndicator).
        /// </summary>
        public bool? SharedIndicatorExpansion { get; internal set; }
        /// <summary>The period of attacker access (UTC), as the engine read -StartDate; null when not limited.</summary>
        public DateTime? PeriodStart { get; internal set; }
        /// <summary>The end of the period (UTC, exclusive), as the engine read -EndDate; null when not limited.</summary>
        public DateTime? PeriodEnd { get; internal set; }
        /// <summary>Every input read: each file, and the pipeline.</summary>
        public MailAccessInput[] Inputs { get; internal set; } = Array.Empty<MailAccessInput>();
        /// <summary>The accounting of every record read.</summary>
        public InputSummary? Summary { get; internal set; }
        /// <summary>The input may not hold every record (see Summary.TruncationReason).</summary>
        public bool PossiblyTruncated => Summary?.PossiblyTruncated ?? false;
        public string? TruncationReason => Summary?.TruncationReason;
        /// <summary>Every warning the run wrote.</summary>
        public string[] Warnings { get; internal set; } = Array.Empty<string>();
        /// <summary>The errors of records that could not be read (the first 100; Summary.Errors counts them all).</summary>
        public string[] ErrorMessages { get; internal set; } = Array.Empty<string>();
        /// <summary>Findings the run produced.</summary>
        public int FindingCount { get; internal set; }
        public string ModuleVersion { get; internal set; } = string.Empty;
        public string EngineVersion { get; internal set; } = string.Empty;
        public string? PowerShellVersion { get; internal set; }
        public string OperatingSystem { get; internal set; } = string.Empty;
        /// <summary>The computer the run was on.</summary>
        public string Host { get; internal set; } = string.Empty;
        /// <summary>The account that ran it (DOMAIN\user).</summary>
        public string User { get; internal set; } = string.Empty;
        /// <summary>UTC.</summary>
        public DateTime StartTime { get; internal set; }
        /// <summary>UTC, when the results were complete.</summary>
        public DateTime EndTime { get; internal set; }
        public TimeSpan Duration => EndTime - StartTime;

        public override string ToString()
        {
            return $"{Command} {StartTime:yyyy-MM-dd HH:mm:ss}Z: {Inputs?.Length ?? 0} input(s), {Summary?.Read ?? 0} records read, {FindingCount} finding(s)";
        }
    }

    /// <summary>One input of a run: a file (with its size and SHA-256), or the pipeline.</summary>
    [ReportedAsObject]
    public sealed class MailAccessInput
    {
        internal MailAccessInput()
        {
        }

        /// <summary>File or Pipeline.</summary>
        public string Kind { get; internal set; } = string.Empty;
        /// <summary>The file's full path; null for the pipeline.</summary>
        public string? Path { get; internal set; }
        /// <summary>The file's size in bytes when it was opened.</summary>
        public long? Size { get; internal set; }
        /// <summary>SHA-256 of the file, upper-case hexadecimal as Get-FileHash writes it.</summary>
        public string? Sha256 { get; internal set; }
        /// <summary>Bytes the hash covers.</summary>
        public long? BytesHashed { get; internal set; }
        /// <summary>True when the hash covers the whole file (it was read to its end).</summary>
        public bool? HashComplete { get; internal set; }
        /// <summary>Pipeline objects received (pipeline only).</summary>
        public long? Objects { get; internal set; }
        /// <summary>Records read from this input (analysed, skipped, duplicates, filtered and errors).</summary>
        public long Records { get; internal set; }
        /// <summary>What is worth knowing about how it was read (stopped, changed while read, ...).</summary>
        public string? Note { get; internal set; }

        public override string ToString()
        {
            return Kind == "Pipeline" ? $"pipeline ({Objects} objects)" : $"{Path} ({Size} bytes, SHA-256 {Sha256})";
        }
    }

    /// <summary>
    /// One record behind a finding: when, which mailbox, who, how, from which context, which
    /// folders and messages, its record id, and where it is in the input.
    /// </summary>
    [ReportedAsObject]
    public sealed class EvidenceRecord
    {
        internal EvidenceRecord()
        {
        }

        public DateTime Time { get; internal set; }
        /// <summary>The mailbox that was read.</summary>
        public string? Mailbox { get; internal set; }
        /// <summary>The acting account.</summary>
        public string? UserId { get; internal set; }
        public MailAccessType AccessType { get; internal set; }
        public bool? IsThrottled { get; internal set; }
        public string? ClientIPAddress { get; internal set; }
        public string? ClientInfoString { get; internal set; }
        public string? SessionId { get; internal set; }
        public string? AppId { get; internal set; }
        public string? ClientAppId { get; internal set; }
        /// <summary>The Entra session (AppAccessContext.AADSessionId).</summary>
        public string? AadSessionId { get; internal set; }
        /// <summary>The token (AppAccessContext.UniqueTokenId).</summary>
        public string? UniqueTokenId { get; internal set; }
        /// <summary>The folders the record names.</summary>
        public string[] Folders { get; internal set; } = Array.Empty<string>();
        /// <summary>The messages it lists (for the findings it supports).</summary>
        public string[] Items { get; internal set; } = Array.Empty<string>();
        /// <summary>OperationCount, for a read whose messages are unknown or a throttled record.</summary>
        public long? OperationCount { get; internal set; }
        public string? RecordId { get; internal set; }
        /// <summary>The file the record was read from; null for pipeline input.</summary>
        public string? SourceFile { get; internal set; }
        /// <summary>Its line in the file (or in a document piped as text); null when not known.</summary>
        public long? SourceLine { get; internal set; }
        /// <summary>
        /// Where it was, in one line: file:line, or the pipeline object; for one of the module's
        /// own records given back as input, where it was first read.
        /// </summary>
        public string Source { get; internal set; } = string.Empty;

        public override string ToString() => $"{Time:yyyy-MM-dd HH:mm:ss}Z {RecordId} ({Source})";
    }
}
