using System.Collections;
using System.Management.Automation;

namespace MailAccessForensics.Commands
{
    /// <summary>
    /// Find-MailAccessMessage: every access to the given messages, whoever made it, with its
    /// time and context. Message ids are accepted with or without angle brackets.
    /// </summary>
    [Cmdlet(VerbsCommon.Find, "MailAccessMessage", DefaultParameterSetName = InputObjectSet)]
    [OutputType(typeof(MessageAccess))]
    public sealed class FindMailAccessMessageCommand : MailAccessAnalysisCommand
    {
        /// <summary>The InternetMessageId values to look for.</summary>
        [Parameter(Mandatory = true, ParameterSetName = InputObjectSet)]
        [ValidateNotNullOrEmpty]
        public string[] InternetMessageId { get; set; }

        private protected override string AnalysisName => "Find";

        private protected override void AddAnalysisOptions(IDictionary options)
        {
            options["InternetMessageId"] = InternetMessageId;
        }
    }
}
