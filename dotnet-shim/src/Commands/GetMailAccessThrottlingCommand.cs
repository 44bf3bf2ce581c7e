using System.Management.Automation;
using MailAccessForensics.Native;

namespace MailAccessForensics.Commands
{
    /// <summary>
    /// Get-MailAccessThrottling (step 1): every record with IsThrottled = True opens a 24-hour
    /// window in which access to its mailbox was not audited; overlapping or touching windows of a
    /// mailbox merge. Records that do not say whether they were throttled are reported as warnings.
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "MailAccessThrottling", DefaultParameterSetName = InputObjectSet)]
    [OutputType(typeof(UnauditedWindow))]
    public sealed class GetMailAccessThrottlingCommand : MailAccessAnalysisCommand
    {
        private protected override AnalysisName AnalysisName => AnalysisName.Throttling;
    }
}
