using System.Collections;
using System.Management.Automation;

namespace MailAccessForensics.Commands
{
    /// <summary>
    /// Get-CompromisedMailAccess: which mail must be treated as compromised, given what is known
    /// of the attacker, with the evidence for each answer. By default the attacker is followed
    /// across addresses and sessions (a session seen from an attacker address is the attacker's,
    /// and an address used by an attacker session is the attacker's), except through addresses
    /// and sessions others used before the attacker's known activity. -Mailbox and -UserIds
    /// choose the findings reported; every record takes part in attribution.
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "CompromisedMailAccess", DefaultParameterSetName = InputObjectSet)]
    [OutputType(typeof(CompromiseFinding))]
    public sealed class GetCompromisedMailAccessCommand : MailAccessAnalysisCommand
    {
        /// <summary>The attacker's addresses or CIDR ranges (IPv4 or IPv6).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[] AttackerIPAddress { get; set; }

        /// <summary>The attacker's sessions (SessionId).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[] AttackerSessionId { get; set; }

        /// <summary>The attacker's clients (ClientInfoString; wildcards allowed).</summary>
        [Parameter]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        public string[] AttackerClientInfoString { get; set; }

        /// <summary>The attacker's applications (matched against AppId and ClientAppId).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[] AttackerAppId { get; set; }

        /// <summary>The attacker's Entra sessions (AppAccessContext.AADSessionId).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[] AttackerAadSessionId { get; set; }

        /// <summary>Only records matching an indicator are the attacker's: do not follow links.</summary>
        [Parameter]
        public SwitchParameter NoContextExpansion { get; set; }

        /// <summary>
        /// Follow also addresses and sessions that other contexts used before the attacker's
        /// known activity (reported as SharedIndicator and not followed without it).
        /// </summary>
        [Parameter]
        public SwitchParameter ExpandSharedIndicator { get; set; }

        private protected override string AnalysisName => "Verdict";

        private protected override void AddAnalysisOptions(IDictionary options)
        {
            if (AttackerIPAddress != null)
            {
                options["AttackerIPAddress"] = AttackerIPAddress;
            }
            if (AttackerSessionId != null)
            {
                options["AttackerSessionId"] = AttackerSessionId;
            }
            if (AttackerClientInfoString != null)
            {
                options["AttackerClientInfoString"] = AttackerClientInfoString;
            }
            if (AttackerAppId != null)
            {
                options["AttackerAppId"] = AttackerAppId;
            }
            if (AttackerAadSessionId != null)
            {
                options["AttackerAadSessionId"] = AttackerAadSessionId;
            }
            options["NoContextExpansion"] = NoContextExpansion.IsPresent;
            options["ExpandSharedIndicator"] = ExpandSharedIndicator.IsPresent;
        }
    }
}
