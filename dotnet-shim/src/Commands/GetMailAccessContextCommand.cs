using System;
using System.Collections;
using System.Management.Automation;

namespace MailAccessForensics.Commands
{
    /// <summary>
    /// Get-MailAccessContext (step 3): the access contexts (client address, client, session,
    /// acting user), with what each did. -Suspicious ranks them for an investigator who does not
    /// yet know the attacker.
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "MailAccessContext", DefaultParameterSetName = InputObjectSet)]
    [OutputType(typeof(AccessContext))]
    public sealed class GetMailAccessContextCommand : MailAccessAnalysisCommand
    {
        /// <summary>Only contexts from these addresses or CIDR ranges.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[] ClientIPAddress { get; set; }

        /// <summary>Only contexts with these sessions.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[] SessionId { get; set; }

        /// <summary>Rank contexts by the signals that make them suspicious; contexts with none are left out.</summary>
        [Parameter]
        public SwitchParameter Suspicious { get; set; }

        /// <summary>The end of a period of normal activity: contexts first seen after it are new.</summary>
        [Parameter]
        public DateTime BaselineEndDate { get; set; }

        private protected override string AnalysisName => "Context";

        private protected override void AddAnalysisOptions(IDictionary options)
        {
            if (ClientIPAddress != null)
            {
                options["ClientIPAddress"] = ClientIPAddress;
            }
            if (SessionId != null)
            {
                options["SessionId"] = SessionId;
            }
            options["Suspicious"] = Suspicious.IsPresent;
            if (IsBound(nameof(BaselineEndDate)))
            {
                options["BaselineEndDate"] = BaselineEndDate;
            }
        }
    }
}
