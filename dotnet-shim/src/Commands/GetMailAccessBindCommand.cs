using System.Management.Automation;
using MailAccessForensics.Native;

namespace MailAccessForensics.Commands
{
    /// <summary>
    /// Get-MailAccessBind (step 4): the messages read, one object per mailbox and message, with
    /// the contexts that read it. Exchange drops identical repeated accesses within an hour, so
    /// AccessCount is a lower bound.
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "MailAccessBind", DefaultParameterSetName = InputObjectSet)]
    [OutputType(typeof(MessageRead))]
    public sealed class GetMailAccessBindCommand : MailAccessAnalysisCommand
    {
        private protected override AnalysisName AnalysisName => AnalysisName.Bind;
    }
}
