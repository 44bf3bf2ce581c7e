using System;
using System.Collections;
using System.Management.Automation;
using System.Text;
using MailAccessForensics.Native;

namespace MailAccessForensics.Commands
{
    /// <summary>
    /// Get-MailAccessKqlQuery: the same investigation as KQL, for records already in Microsoft
    /// Sentinel / Log Analytics (OfficeActivity), Defender XDR advanced hunting (CloudAppEvents)
    /// or Azure Data Explorer. Writes the query text of one step or the verdict, with the
    /// indicators, dates and mailboxes as literals; the engine writes it (the files under kql/
    /// come from the same source).
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "MailAccessKqlQuery")]
    [OutputType(typeof(string))]
    public sealed class GetMailAccessKqlQueryCommand : PSCmdlet
    {
        /// <summary>OfficeActivity (Sentinel, Log Analytics) or CloudAppEvents (Defender XDR).</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateSet("OfficeActivity", "CloudAppEvents")]
        public string Table { get; set; } = string.Empty;

        /// <summary>Throttling, Sync, Context, Bind (Microsoft's four steps) or Verdict.</summary>
        [Parameter(Mandatory = true, Position = 1)]
        [ValidateSet("Throttling", "Sync", "Context", "Bind", "Verdict")]
        public string Step { get; set; } = string.Empty;

        /// <summary>The attacker's addresses or CIDR ranges (Context, Verdict).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[]? AttackerIPAddress { get; set; }

        /// <summary>The attacker's Exchange sessions (Context, Verdict).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[]? AttackerSessionId { get; set; }

        /// <summary>The attacker's Entra sessions, AppAccessContext.AADSessionId (Verdict).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[]? AttackerAadSessionId { get; set; }

        /// <summary>The attacker's applications, matched against AppId and ClientAppId (Verdict).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[]? AttackerAppId { get; set; }

        /// <summary>The attacker's clients, ClientInfoString with wildcards (Verdict).</summary>
        [Parameter]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        public string[]? AttackerClientInfoString { get; set; }

        /// <summary>Records at or after this time (read as Search-UnifiedAuditLog reads dates).</summary>
        [Parameter]
        public DateTime StartDate { get; set; }

        /// <summary>Records before this time.</summary>
        [Parameter]
        public DateTime EndDate { get; set; }

        /// <summary>Mailboxes (MailboxOwnerUPN; wildcards): the records of the steps, the findings of the verdict.</summary>
        [Parameter]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        public string[]? Mailbox { get; set; }

        /// <summary>Acting accounts (UserId; wildcards): the records of the steps, the findings of the verdict.</summary>
        [Parameter]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        public string[]? UserIds { get; set; }

        /// <summary>How many rounds of expansion the verdict is unrolled to; 0 turns expansion off.</summary>
        [Parameter]
        [ValidateRange(0, 32)]
        public int ExpansionRounds { get; set; }

        /// <summary>
        /// Follow also the addresses and sessions that other contexts used before the attacker's
        /// known activity (Verdict; reported as SharedIndicator rows and not followed without it).
        /// </summary>
        [Parameter]
        public SwitchParameter ExpandSharedIndicator { get; set; }

        protected override void BeginProcessing()
        {
            NativeLibraryLoader.EnsureLoaded();
        }

        protected override void EndProcessing()
        {
            var options = new Hashtable { ["Table"] = Table, ["Step"] = Step };
            void Add(string name, object? value)
            {
                if (MyInvocation.BoundParameters.ContainsKey(name))
                {
                    options[name] = value;
                }
            }
            Add(nameof(AttackerIPAddress), AttackerIPAddress);
            Add(nameof(AttackerSessionId), AttackerSessionId);
            Add(nameof(AttackerAadSessionId), AttackerAadSessionId);
            Add(nameof(AttackerAppId), AttackerAppId);
            Add(nameof(AttackerClientInfoString), AttackerClientInfoString);
            Add(nameof(StartDate), StartDate);
            Add(nameof(EndDate), EndDate);
            Add(nameof(Mailbox), Mailbox);
            Add(nameof(UserIds), UserIds);
            Add(nameof(ExpansionRounds), ExpansionRounds);
            if (ExpandSharedIndicator.IsPresent)
            {
                options[nameof(ExpandSharedIndicator)] = true;
            }
            string text;
            try
            {
                text = Render(options);
            }
            catch (NativeCallException e)
            {
                ThrowTerminatingError(new ErrorRecord(e, "MailAccessForensics.KqlQuery" + e.Status, ErrorCategory.InvalidArgument, null));
                return;
            }
            WriteObject(text);
        }

        private static unsafe string Render(Hashtable values)
        {
            var options = new ObjectBatchEncoder(512);
            options.AddMap(values);
            MafKqlQuery* query = null;
            fixed (byte* opts = options.Buffer)
            {
                NativeCall.Check(NativeMethods.maf_kql_query(opts, (nuint)options.Length, &query));
            }
            try
            {
                return query->text_len == 0 ? string.Empty : Encoding.UTF8.GetString(query->text, checked((int)query->text_len));
            }
            finally
            {
                NativeMethods.maf_kql_query_free(query);
            }
        }
    }
}
