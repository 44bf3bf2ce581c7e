using System;

namespace MailAccessForensics
{
    /// <summary>The context of an access: client address, client, session and acting user.</summary>
    public sealed class ClientContext
    {
        internal ClientContext(string? clientIPAddress, string? clientInfoString, string? sessionId, string? userId)
        {
            ClientIPAddress = clientIPAddress;
            ClientInfoString = clientInfoString;
            SessionId = sessionId;
            UserId = userId;
        }

        public string? ClientIPAddress { get; }
        public string? ClientInfoString { get; }
        public string? SessionId { get; }
        public string? UserId { get; }

        public override string ToString()
        {
            return $"{ClientIPAddress ?? "-"} | {ClientInfoString ?? "-"} | {SessionId ?? "-"} | {UserId ?? "-"}";
        }
    }

    /// <summary>
    /// Get-MailAccessThrottling: a window in which access to the mailbox was not audited
    /// (IsThrottled was True); assume all its mail was read in it.
    /// </summary>
    public sealed class UnauditedWindow
    {
        public string? Mailbox { get; internal set; }
        public DateTime Start { get; internal set; }
        public DateTime End { get; internal set; }
        public TimeSpan Duration => End - Start;
        public long ThrottledRecordCount { get; internal set; }
        /// <summary>The throttled records that opened the window.</summary>
        public string[] RecordIds { get; internal set; } = Array.Empty<string>();
    }

    /// <summary>Get-MailAccessSync: the syncs of one folder of one mailbox from one context.</summary>
    public sealed class SyncActivity
    {
        public string? Mailbox { get; internal set; }
        public string? FolderPath { get; internal set; }
        public DateTime Start { get; internal set; }
        public DateTime End { get; internal set; }
        public long SyncCount { get; internal set; }
        public string? ClientIPAddress { get; internal set; }
        public string? ClientInfoString { get; internal set; }
        public string? SessionId { get; internal set; }
        public string? UserId { get; internal set; }
        public string[] RecordIds { get; internal set; } = Array.Empty<string>();
    }

    /// <summary>Get-MailAccessContext: what one access context did.</summary>
    public sealed class AccessContext
    {
        public string? ClientIPAddress { get; internal set; }
        public string? ClientInfoString { get; internal set; }
        public string? SessionId { get; internal set; }
        public string? UserId { get; internal set; }
        /// <summary>The AppId values seen in the context.</summary>
        public string[] AppId { get; internal set; } = Array.Empty<string>();
        /// <summary>The ClientAppId values seen in the context.</summary>
        public string[] ClientAppId { get; internal set; } = Array.Empty<string>();
        /// <summary>The Entra sessions (AppAccessContext.AADSessionId) seen in the context.</summary>
        public string[] AadSessionId { get; internal set; } = Array.Empty<string>();
        /// <summary>The tokens (AppAccessContext.UniqueTokenId) seen in the context.</summary>
        public string[] UniqueTokenId { get; internal set; } = Array.Empty<string>();
        public string[] Mailboxes { get; internal set; } = Array.Empty<string>();
        public DateTime Start { get; internal set; }
        public DateTime End { get; internal set; }
        public long RecordCount { get; internal set; }
        public long BindCount { get; internal set; }
        public long SyncCount { get; internal set; }
        /// <summary>Distinct messages read.</summary>
        public long MessageCount { get; internal set; }
        /// <summary>Size of the distinct messages read (sizes the records give).</summary>
        public long Bytes { get; internal set; }
        /// <summary>With -Suspicious: the signals that fired.</summary>
        public string[] Signals { get; internal set; } = Array.Empty<string>();
        /// <summary>With -Suspicious: the number of signals.</summary>
        public int Score { get; internal set; }
    }

    /// <summary>
    /// Get-MailAccessBind: a message that was read. AccessCount is a lower bound: Exchange drops
    /// identical repeated accesses within an hour.
    /// </summary>
    public sealed class MessageRead
    {
        public string? Mailbox { get; internal set; }
        public string InternetMessageId { get; internal set; } = string.Empty;
        public string? FolderPath { get; internal set; }
        public long? SizeInBytes { get; internal set; }
        public DateTime Start { get; internal set; }
        public DateTime End { get; internal set; }
        public long AccessCount { get; internal set; }
        public ClientContext[] Contexts { get; internal set; } = Array.Empty<ClientContext>();
    }

    /// <summary>Find-MailAccessMessage: one access to a given message.</summary>
    public sealed class MessageAccess
    {
        public string InternetMessageId { get; internal set; } = string.Empty;
        public string? Mailbox { get; internal set; }
        public DateTime CreationTime { get; internal set; }
        public string? FolderPath { get; internal set; }
        public long? SizeInBytes { get; internal set; }
        public string? ClientIPAddress { get; internal set; }
        public string? ClientInfoString { get; internal set; }
        public string? SessionId { get; internal set; }
        public string? UserId { get; internal set; }
        public string? AppId { get; internal set; }
        public string? ClientAppId { get; internal set; }
        public string? RecordId { get; internal set; }
    }

    /// <summary>Get-CompromisedMailAccess: one answer, with the evidence that produced it.</summary>
    public sealed class CompromiseFinding
    {
        public CompromiseKind Kind { get; internal set; }
        /// <summary>The mailbox that was read (not the account that read it).</summary>
        public string? Mailbox { get; internal set; }
        public string? FolderPath { get; internal set; }
        public string? InternetMessageId { get; internal set; }
        public long? SizeInBytes { get; internal set; }
        public DateTime Start { get; internal set; }
        public DateTime End { get; internal set; }
        /// <summary>Attacker-context records behind the finding (null when unknown).</summary>
        public long? AccessCount { get; internal set; }
        public string[] ClientIPAddress { get; internal set; } = Array.Empty<string>();
        public string[] SessionId { get; internal set; } = Array.Empty<string>();
        public string[] ClientInfoString { get; internal set; } = Array.Empty<string>();
        /// <summary>The Entra sessions of the evidence; for an Entra session indicator, the indicator.</summary>
        public string[] AadSessionId { get; internal set; } = Array.Empty<string>();
        /// <summary>The acting accounts of the evidence (delegate access shows here).</summary>
        public string[] UserId { get; internal set; } = Array.Empty<string>();
        /// <summary>The AppId values of the evidence.</summary>
        public string[] AppId { get; internal set; } = Array.Empty<string>();
        /// <summary>The ClientAppId values of the evidence (the calling application).</summary>
        public string[] ClientAppId { get; internal set; } = Array.Empty<string>();
        /// <summary>The tokens (UniqueTokenId) of the evidence.</summary>
        public string[] UniqueTokenId { get; internal set; } = Array.Empty<string>();
        /// <summary>One sentence a reader can check.</summary>
        public string Reason { get; internal set; } = string.Empty;
        public string[] EvidenceRecordIds { get; internal set; } = Array.Empty<string>();
        /// <summary>The records behind the finding, with where each is in the input.</summary>
        public EvidenceRecord[] Evidence { get; internal set; } = Array.Empty<EvidenceRecord>();
        /// <summary>The run that produced the finding (shared by every finding of the run).</summary>
        public MailAccessRun? Run { get; internal set; }
    }
}
