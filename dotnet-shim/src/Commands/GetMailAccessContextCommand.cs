using System;
using System.Collections;
using System.Management.Automation;
using MailAccessForensics.Native;

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
        public string[]? ClientIPAddress { get; set; }

        /// <summary>Only contexts with these sessions.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[]? SessionId { get; set; }

        /// <summary>Rank contexts by the signals that make them suspicious; contexts with none are left out.</summary>
        [Parameter]
        public SwitchParameter Suspicious { get; set; }

        /// <summary>The end of a period of normal activity: contexts first seen after it are new.</summary>
        [Parameter]
        public DateTime BaselineEndDate { get; set; }

        private protected override AnalysisName AnalysisName => AnalysisName.Context;

        /// <summary>The type name of ranked contexts: their default view leads with Score and Signals.</summary>
        internal const string SuspiciousTypeName = "MailAccessForensics.AccessContext#Suspicious";

        private protected override void WriteResults(AnalysisHandle analysis, string[] warnings, InputSummary summary)
        {
            if (!Suspicious)
            {
                base.WriteResults(analysis, warnings, summary);
                return;
            }
            foreach (string warning in warnings)
            {
                WriteWarning(warning);
            }
            analysis.Read(FileName, result =>
            {
                PSObject ranked = PSObject.AsPSObject(result);
                ranked.TypeNames.Insert(0, SuspiciousTypeName);
                WriteObject(ranked);
            });
        }

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
