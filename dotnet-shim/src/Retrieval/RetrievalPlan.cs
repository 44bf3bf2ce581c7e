using System;
using System.Collections.Generic;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace MailAccessForensics.Retrieval
{
    /// <summary>One retrieval as the script's data table holds it: name, value pairs in order.</summary>
    internal sealed class PlanEntry
    {
        internal List<KeyValuePair<string, string>> Values { get; } = new List<KeyValuePair<string, string>>();

        internal void Add(string name, string? value)
        {
            if (value != null)
            {
                Values.Add(new KeyValuePair<string, string>(name, value));
            }
        }
    }

    /// <summary>
    /// Turns findings into retrievals: one per finding that names mail to fetch, in the order the
    /// findings came, each with the Graph request and the commands that find the same mail. The
    /// script (RetrievalScript) makes the requests itself from the same data.
    /// </summary>
    internal sealed class RetrievalPlan
    {
        /// <summary>The message properties the script asks Graph for (and records in its manifest).</summary>
        internal const string MessageProperties = "id,internetMessageId,subject,from,receivedDateTime,sentDateTime,parentFolderId,isRead,hasAttachments";
        /// <summary>The page size the script asks for.</summary>
        internal const int PageSize = 100;

        private readonly Dictionary<string, string> _mailboxFolders = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        private readonly HashSet<string> _keys = new HashSet<string>(StringComparer.Ordinal);

        internal List<MessageRetrieval> Retrievals { get; } = new List<MessageRetrieval>();
        internal List<PlanEntry> Entries { get; } = new List<PlanEntry>();
        internal int Duplicates { get; private set; }
        /// <summary>Mailboxes Graph cannot look up as they are: neither a user principal name nor an object id.</summary>
        internal List<string> UnaddressableMailboxes { get; } = new List<string>();

        internal static bool NeedsRetrieval(CompromiseKind kind)
        {
            return kind == CompromiseKind.AccessedMessage || kind == CompromiseKind.SyncedFolder
                || kind == CompromiseKind.ThrottledWindow || kind == CompromiseKind.UnresolvedAccess;
        }

        /// <summary>
        /// Adds the retrieval for a finding of a kind that needs one. Returns why it cannot, or
        /// null. A finding that asks for a retrieval already planned adds nothing.
        /// </summary>
        internal string? Add(FindingInput finding)
        {
            CompromiseKind kind = finding.Kind ?? throw new ArgumentException("A finding of a kind this module does not know needs no retrieval.", nameof(finding));
            string? mailbox = finding.Mailbox;
            if (mailbox == null || mailbox.Length == 0)
            {
                return "it has no Mailbox";
            }
            if (kind == CompromiseKind.AccessedMessage && string.IsNullOrEmpty(finding.InternetMessageId))
            {
                return "it has no InternetMessageId";
            }
            if (kind == CompromiseKind.SyncedFolder && string.IsNullOrEmpty(finding.FolderPath))
            {
                return "it has no FolderPath";
            }
            foreach (string? text in new[] { finding.Mailbox, finding.FolderPath, finding.InternetMessageId, finding.Reason })
            {
                if (text != null && PowerShellLiteral.HasUnpairedSurrogate(text))
                {
                    return "one of its texts holds an unpaired UTF-16 surrogate, which cannot be written faithfully";
                }
            }
            if (!_keys.Add(finding.Key()))
            {
                Duplicates++;
                return null;
            }

            string id = "R" + (Retrievals.Count + 1).ToString("D4", CultureInfo.InvariantCulture);
            if (!_mailboxFolders.TryGetValue(mailbox, out string? mailboxFolder))
            {
                mailboxFolder = "mailbox-" + (_mailboxFolders.Count + 1).ToString("D2", CultureInfo.InvariantCulture);
                _mailboxFolders.Add(mailbox, mailboxFolder);
                if (mailbox.IndexOf('@') < 0 && !Guid.TryParse(mailbox, out _))
                {
                    UnaddressableMailboxes.Add(mailbox);
                }
            }
            string? folder = kind == CompromiseKind.ThrottledWindow ? null : NullIfEmpty(finding.FolderPath);
            string? messageId = kind == CompromiseKind.AccessedMessage ? finding.InternetMessageId : null;
            DateTime? receivedBefore = kind == CompromiseKind.AccessedMessage ? (DateTime?)null : CeilingToSecond(finding.End);

            var retrieval = new MessageRetrieval
            {
                Id = id,
                Kind = kind,
                Mailbox = mailbox,
                FolderPath = folder,
                InternetMessageId = messageId,
                Start = finding.Start,
                End = finding.End,
                ReceivedBefore = receivedBefore,
                Action = kind == CompromiseKind.AccessedMessage || kind == CompromiseKind.SyncedFolder ? "Save" : "List",
                Reason = finding.Reason,
                EvidenceRecordIds = finding.EvidenceRecordIds,
                Finding = finding.Source,
            };
            Describe(retrieval);
            Retrievals.Add(retrieval);

            var entry = new PlanEntry();
            entry.Add("Id", id);
            entry.Add("Kind", kind.ToString());
            entry.Add("Mailbox", mailbox);
            entry.Add("MailboxFolder", mailboxFolder);
            entry.Add("FolderPath", folder);
            entry.Add("InternetMessageId", messageId);
            entry.Add("Start", RoundTrip(finding.Start));
            entry.Add("End", RoundTrip(finding.End));
            entry.Add("ReceivedBefore", receivedBefore.HasValue ? GraphTime(receivedBefore.Value) : null);
            entry.Add("Evidence", finding.EvidenceRecordIds.Length == 0 ? null : string.Join(", ", finding.EvidenceRecordIds));
            entry.Add("Reason", finding.Reason);
            Entries.Add(entry);
            return null;
        }

        private static void Describe(MessageRetrieval r)
        {
            string user = "/users/" + r.Mailbox;
            string userArgument = "-UserId " + PowerShellLiteral.Quote(r.Mailbox);
            switch (r.Kind)
            {
                case CompromiseKind.AccessedMessage:
                    {
                        string filter = "internetMessageId eq " + ODataString(r.InternetMessageId ?? throw new InvalidOperationException("A message retrieval has no InternetMessageId."));
                        r.GraphRequest = $"GET {user}/messages?$filter={filter}";
                        r.PowerShellCommand = SdkAltersFilter(r.InternetMessageId)
                            ? "Invoke-MgGraphRequest -Method GET -Uri " + PowerShellLiteral.Quote(GraphUri(r.Mailbox, null, filter))
                            : $"Get-MgUserMessage {userArgument} -Filter {PowerShellLiteral.Quote(filter)} -All";
                        r.MessageTraceCommand = "Get-MessageTraceV2 -MessageId " + PowerShellLiteral.Quote(r.InternetMessageId)
                            + " -StartDate " + PowerShellLiteral.Quote(GraphTime(r.Start.AddDays(-10)))
                            + " -EndDate " + PowerShellLiteral.Quote(GraphTime(r.Start));
                        r.Limits = "Finds the message while it is in the mailbox (in any folder) or in Recoverable Items\\Deletions, where deleted "
                            + "mail stays 14 days by default (up to 30, longer under a hold); not once purged, nor in an archive mailbox. "
                            + "The message trace shows delivery, not content: it keeps 90 days and searches 10 days per query (this one the 10 "
                            + "days before the first read; repeat with earlier dates for older mail). A compliance search cannot find a "
                            + "message by its Message-ID: headers are not indexed.";
                        break;
                    }
                case CompromiseKind.SyncedFolder:
                    {
                        string filter = "receivedDateTime le " + GraphTime(ListedBefore(r));
                        r.GraphRequest = $"GET {user}/mailFolders/{{id of {r.FolderPath}}}/messages?$filter={filter}";
                        r.PowerShellCommand = $"Get-MgUserMailFolderMessage {userArgument} -MailFolderId $folderId -Filter {PowerShellLiteral.Quote(filter)} -All";
                        r.Limits = "Resolves the folder by its path (the display names the audit wrote) and lists what it holds now: messages moved "
                            + "out or deleted since the last sync are not listed, and a message moved in later with an older received time is. "
                            + "A compliance search of one folder needs its folderid, which the finding does not carry.";
                        break;
                    }
                case CompromiseKind.ThrottledWindow:
                    {
                        string filter = "receivedDateTime lt " + GraphTime(ListedBefore(r));
                        r.GraphRequest = $"GET {user}/messages?$filter={filter}";
                        r.PowerShellCommand = $"Get-MgUserMessage {userArgument} -Filter {PowerShellLiteral.Quote(filter)} -All";
                        string name = "MailAccessForensics " + r.Id + " " + ShortHash(r.Mailbox.ToLowerInvariant() + "\n" + RoundTrip(r.Start) + "\n" + RoundTrip(r.End));
                        r.ComplianceSearchCommand = "New-ComplianceSearch -Name " + PowerShellLiteral.Quote(name)
                            + " -ExchangeLocation " + PowerShellLiteral.Quote(r.Mailbox)
                            + " -ContentMatchQuery " + PowerShellLiteral.Quote("received<" + DayAfter(ListedBefore(r)))
                            + "; Start-ComplianceSearch -Identity " + PowerShellLiteral.Quote(name);
                        r.Limits = "Lists the messages received before the window ended that the mailbox and its Recoverable Items\\Deletions hold "
                            + "now: mail purged since, or moved to an archive mailbox, is not listed. The compliance search also covers all of "
                            + "Recoverable Items and the archive mailbox, to whole days (UTC): it may include mail of the window's last day "
                            + "received after the window.";
                        break;
                    }
                case CompromiseKind.UnresolvedAccess:
                    {
                        string filter = "receivedDateTime le " + GraphTime(ListedBefore(r));
                        if (r.FolderPath != null)
                        {
                            r.GraphRequest = $"GET {user}/mailFolders/{{id of {r.FolderPath}}}/messages?$filter={filter}";
                            r.PowerShellCommand = $"Get-MgUserMailFolderMessage {userArgument} -MailFolderId $folderId -Filter {PowerShellLiteral.Quote(filter)} -All";
                        }
                        else
                        {
                            r.GraphRequest = $"GET {user}/messages?$filter={filter}";
                            r.PowerShellCommand = $"Get-MgUserMessage {userArgument} -Filter {PowerShellLiteral.Quote(filter)} -All";
                        }
                        r.Limits = "The record lost the ids of the messages it read: these are candidates, the messages received before the read "
                            + "that the folder (or, with no folder, the mailbox) holds now, not the messages read.";
                        break;
                    }
            }
        }

        /// <summary>
        /// Microsoft Graph PowerShell decodes a -Filter value before it sends it ('%2B' becomes '+',
        /// and '+' may become a space: msgraph-sdk-powershell issues 2280, 2973, 3522), so the
        /// script looks such message ids up with Invoke-MgGraphRequest and a URI it encodes itself.
        /// </summary>
        internal static bool SdkAltersFilter(string value)
        {
            return value.IndexOf('+') >= 0 || value.IndexOf('%') >= 0;
        }

        /// <summary>The relative Graph URI the script requests for a lookup by filter.</summary>
        internal static string GraphUri(string mailbox, string? folderId, string filter)
        {
            string folder = folderId == null ? "" : "/mailFolders/" + Uri.EscapeDataString(folderId);
            return "v1.0/users/" + Uri.EscapeDataString(mailbox) + folder + "/messages?$filter=" + Uri.EscapeDataString(filter)
                + "&$select=" + MessageProperties + "&$top=" + PageSize.ToString(CultureInfo.InvariantCulture);
        }

        /// <summary>An OData string literal: in quotes, with quotes doubled.</summary>
        internal static string ODataString(string value)
        {
            return "'" + value.Replace("'", "''") + "'";
        }

        /// <summary>A bound for Graph, to the second, rounded up so the listing never stops short.</summary>
        internal static DateTime CeilingToSecond(DateTime time)
        {
            long part = time.Ticks % TimeSpan.TicksPerSecond;
            return part == 0 ? time : time.AddTicks(TimeSpan.TicksPerSecond - part);
        }

        internal static string GraphTime(DateTime time)
        {
            return CeilingToSecond(time).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        }

        private static string RoundTrip(DateTime time)
        {
            return DateTime.SpecifyKind(time, DateTimeKind.Utc).ToString("o", CultureInfo.InvariantCulture);
        }

        /// <summary>The date after the one the time falls in, unless the time is that day's midnight.</summary>
        private static string DayAfter(DateTime time)
        {
            DateTime day = time.TimeOfDay == TimeSpan.Zero ? time.Date : time.Date.AddDays(1);
            return day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        }

        private static string ShortHash(string text)
        {
            using (SHA256 sha = SHA256.Create())
            {
                byte[] hash = sha.ComputeHash(Encoding.UTF8.GetBytes(text));
                return BitConverter.ToString(hash, 0, 4).Replace("-", "").ToLowerInvariant();
            }
        }

        /// <summary>A listing (every kind but AccessedMessage) always has the time it lists up to.</summary>
        private static DateTime ListedBefore(MessageRetrieval r) => r.ReceivedBefore ?? throw new InvalidOperationException("A listing retrieval has no ReceivedBefore.");

        private static string? NullIfEmpty(string? text)
        {
            return string.IsNullOrEmpty(text) ? null : text;
        }
    }
}
