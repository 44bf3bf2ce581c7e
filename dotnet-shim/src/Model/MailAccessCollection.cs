using System;

namespace MailAccessForensics
{
    /// <summary>
    /// Save-MailAccessAuditLog: a collection folder, as its manifest stands. Complete is true
    /// only when every window of the period was fetched to the end.
    /// </summary>
    public sealed class MailAccessCollection
    {
        internal MailAccessCollection()
        {
        }

        /// <summary>The collection folder.</summary>
        public string Path { get; internal set; } = string.Empty;
        /// <summary>Every window was fetched to the end of its last session.</summary>
        public bool Complete { get; internal set; }
        /// <summary>
        /// Every window ended at least a day before it was fetched: the service delivers some
        /// records hours late, so a window fetched sooner may still gain records.
        /// </summary>
        public bool Settled { get; internal set; }
        /// <summary>Records in the folder (each written once).</summary>
        public long RecordCount { get; internal set; }
        public DateTime StartDate { get; internal set; }
        public DateTime EndDate { get; internal set; }
        /// <summary>The mailboxes whose records are kept; empty for every mailbox.</summary>
        public string[] Mailbox { get; internal set; } = Array.Empty<string>();
        public string[] Operations { get; internal set; } = Array.Empty<string>();
        /// <summary>The windows of the period, in order.</summary>
        public CollectionWindow[] Windows { get; internal set; } = Array.Empty<CollectionWindow>();
        /// <summary>The windows not fetched completely (Incomplete, or Pending: not fetched yet).</summary>
        public CollectionWindow[] IncompleteWindows { get; internal set; } = Array.Empty<CollectionWindow>();
        /// <summary>The records files (gzip JSON Lines), in order.</summary>
        public string[] Files { get; internal set; } = Array.Empty<string>();
        /// <summary>The audit configuration of each -Mailbox, as this run checked it.</summary>
        public MailboxAuditCheck[] AuditChecks { get; internal set; } = new MailboxAuditCheck[0];

        /// <summary>Why the collection may be incomplete, when read as input.</summary>
        internal string[] Reasons { get; set; } = Array.Empty<string>();

        public override string ToString() => Path;
    }

    /// <summary>How the fetching of a collection window went; the numbers are the engine's.</summary>
    public enum CollectionWindowStatus
    {
        /// <summary>Fetched whole.</summary>
        Complete = (int)Native.NativeMethods.MAF_WINDOW_COMPLETE,
        /// <summary>Fetched, but not all of it could be.</summary>
        Incomplete = (int)Native.NativeMethods.MAF_WINDOW_INCOMPLETE,
        /// <summary>Not fetched yet.</summary>
        Pending = (int)Native.NativeMethods.MAF_WINDOW_PENDING,
    }

    /// <summary>One time window of a collection, and how its fetching went (over every run).</summary>
    public sealed class CollectionWindow
    {
        internal CollectionWindow()
        {
        }

        public DateTime Start { get; internal set; }
        public DateTime End { get; internal set; }
        /// <summary>Complete, Incomplete (fetched, not all of it could be) or Pending (not fetched yet).</summary>
        public CollectionWindowStatus Status { get; internal set; }
        /// <summary>Why it is not complete; null when it is.</summary>
        public string? Reason { get; internal set; }
        /// <summary>Records written for it (new ones: each record is written once in the folder).</summary>
        public long Records { get; internal set; }
        /// <summary>Search-UnifiedAuditLog calls made for it.</summary>
        public long Calls { get; internal set; }
        /// <summary>Sessions started for it (a new one after each failure, and to confirm an end).</summary>
        public long Sessions { get; internal set; }
        /// <summary>Sessions that failed (retried, or given up).</summary>
        public long Failures { get; internal set; }
        /// <summary>Records the service returned for it, copies included.</summary>
        public long Returned { get; internal set; }
        /// <summary>Records returned again (the same record id), not written again.</summary>
        public long Duplicates { get; internal set; }
        /// <summary>Records of other mailboxes, not written (with -Mailbox).</summary>
        public long OtherMailboxes { get; internal set; }

        public override string ToString() => $"{Start:yyyy-MM-ddTHH:mm:ssZ} to {End:yyyy-MM-ddTHH:mm:ssZ}: {Status}{(Reason == null ? "" : " (" + Reason + ")")}";
    }

    /// <summary>
    /// Whether MailItemsAccessed is audited for a mailbox: for owner, delegate and admin
    /// logons, with auditing on and no audit bypass.
    /// </summary>
    public sealed class MailboxAuditCheck
    {
        internal MailboxAuditCheck()
        {
        }

        public string Mailbox { get; internal set; } = string.Empty;
        /// <summary>True when every check passed, false when one failed, null when the configuration could not be read.</summary>
        public bool? MailItemsAccessedAudited { get; internal set; }
        public bool? AuditEnabled { get; internal set; }
        public string[]? AuditOwner { get; internal set; }
        public string[]? AuditDelegate { get; internal set; }
        public string[]? AuditAdmin { get; internal set; }
        public string[]? DefaultAuditSet { get; internal set; }
        public bool? AuditBypassEnabled { get; internal set; }
        /// <summary>What is wrong or could not be checked, one sentence each.</summary>
        public string[] Problems { get; internal set; } = Array.Empty<string>();
        /// <summary>The command that read the configuration (Get-EXOMailbox or Get-Mailbox).</summary>
        public string? Source { get; internal set; }
    }
}
