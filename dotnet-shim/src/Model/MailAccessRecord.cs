using System;

namespace MailAccessForensics
{
    /// <summary>One message named by a Bind record.</summary>
    public sealed class MailAccessItem
    {
        internal MailAccessItem(string internetMessageId, string? folderPath, long? sizeInBytes)
        {
            InternetMessageId = internetMessageId;
            FolderPath = folderPath;
            SizeInBytes = sizeInBytes;
        }

        /// <summary>The message id in its &lt;...&gt; form.</summary>
        public string InternetMessageId { get; }
        public string? FolderPath { get; }
        /// <summary>Null when the record does not give the size.</summary>
        public long? SizeInBytes { get; }

        public override string ToString() => InternetMessageId;
    }

    /// <summary>A folder a record names.</summary>
    public sealed class MailAccessFolder
    {
        internal MailAccessFolder(string? path, string? id, long? itemCount)
        {
            Path = path;
            Id = id;
            ItemCount = itemCount;
        }

        /// <summary>The folder path, with a leading backslash; null when the record gives none.</summary>
        public string? Path { get; }
        /// <summary>The store folder id (LgAAAA...), when present.</summary>
        public string? Id { get; }
        /// <summary>Items the record lists for the folder; null for a Sync folder or a list an earlier tool lost.</summary>
        public long? ItemCount { get; }

        public override string ToString() => Path ?? Id ?? string.Empty;
    }

    /// <summary>One analysed MailItemsAccessed audit record, whatever shape it came in.</summary>
    public sealed class MailAccessRecord
    {
        internal MailAccessRecord()
        {
        }

        /// <summary>When the access happened, UTC.</summary>
        public DateTime CreationTime { get; internal set; }
        /// <summary>The audit record's Id.</summary>
        public string? RecordId { get; internal set; }
        /// <summary>The mailbox that was read (MailboxOwnerUPN).</summary>
        public string? Mailbox { get; internal set; }
        public string? MailboxGuid { get; internal set; }
        /// <summary>The account that read it (differs from Mailbox for delegate access).</summary>
        public string? UserId { get; internal set; }
        /// <summary>Regular, Admin, Application, ServicePrincipal, ... (who acted).</summary>
        public string? UserType { get; internal set; }
        public MailAccessType AccessType { get; internal set; }
        /// <summary>True, False, or null when the record does not say.</summary>
        public bool? IsThrottled { get; internal set; }
        /// <summary>The client address, normalised (one address is always written one way).</summary>
        public string? ClientIPAddress { get; internal set; }
        /// <summary>The client address exactly as the record wrote it.</summary>
        public string? ClientIPAddressOriginal { get; internal set; }
        /// <summary>The port, when the record's address carried one.</summary>
        public int? ClientPort { get; internal set; }
        public string? ClientInfoString { get; internal set; }
        public string? SessionId { get; internal set; }
        public string? AppId { get; internal set; }
        public string? ClientAppId { get; internal set; }
        /// <summary>
        /// The Entra (Azure AD) sign-in session of the token (AppAccessContext.AADSessionId): a
        /// stolen token replayed under a new Exchange session keeps it. Null when the record does not say.
        /// </summary>
        public string? AadSessionId { get; internal set; }
        /// <summary>The access token itself (AppAccessContext.UniqueTokenId).</summary>
        public string? UniqueTokenId { get; internal set; }
        /// <summary>When the token was issued, UTC (AppAccessContext.IssuedAtTime).</summary>
        public DateTime? IssuedAtTime { get; internal set; }
        /// <summary>Owner, Admin, Delegated, Transport, SystemService, BestAccess, DelegatedAdmin.</summary>
        public string? LogonType { get; internal set; }
        public bool? ExternalAccess { get; internal set; }
        /// <summary>Number of accesses aggregated into the record.</summary>
        public long? OperationCount { get; internal set; }
        public string? OriginatingServer { get; internal set; }
        /// <summary>Paths of the folders the record names.</summary>
        public string[] Folders { get; internal set; } = Array.Empty<string>();
        /// <summary>Every folder the record names, with its id and item count (also those without a path).</summary>
        public MailAccessFolder[] FolderDetails { get; internal set; } = Array.Empty<MailAccessFolder>();
        /// <summary>The messages a Bind record lists.</summary>
        public MailAccessItem[] Items { get; internal set; } = Array.Empty<MailAccessItem>();
        /// <summary>True when an earlier tool lost part of the record (see DegradedReason).</summary>
        public bool IsDegraded { get; internal set; }
        public string? DegradedReason { get; internal set; }
        /// <summary>
        /// Where the record came from: a file and line, or the pipeline position. A record piped
        /// back into the module keeps the Source it was first read with.
        /// </summary>
        public string Source { get; internal set; } = string.Empty;

        /// <summary>0-based position in the command's input, for ordering output with errors.</summary>
        internal long InputIndex { get; set; }
    }
}
