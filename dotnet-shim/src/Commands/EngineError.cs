using System.Management.Automation;
using MailAccessForensics.Native;

namespace MailAccessForensics.Commands
{
    internal static class EngineError
    {
        /// <summary>The error record of a failed engine call: its id names the engine's status.</summary>
        internal static ErrorRecord Record(NativeCallException e)
        {
            return new ErrorRecord(e, "MailAccessForensics.Engine" + e.Status, ErrorCategory.NotSpecified, null);
        }
    }
}
