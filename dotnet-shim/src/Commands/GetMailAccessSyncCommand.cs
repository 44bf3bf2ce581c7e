using System.Management.Automation;
using MailAccessForensics.Native;

namespace MailAccessForensics.Commands
{
    /// <summary>
    /// Get-MailAccessSync (step 2): every Sync access, one object per mailbox, folder and context.
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "MailAccessSync", DefaultParameterSetName = InputObjectSet)]
    [OutputType(typeof(SyncActivity))]
    public sealed class GetMailAccessSyncCommand : MailAccessAnalysisCommand
    {
        private protected override AnalysisName AnalysisName => AnalysisName.Sync;
    }
}
