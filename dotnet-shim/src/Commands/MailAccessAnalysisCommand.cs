using System;
using System.Collections;
using System.Management.Automation;
using MailAccessForensics.Native;

namespace MailAccessForensics.Commands
{
    /// <summary>
    /// Base of the analysis cmdlets: the filters of the original commands, and the results the
    /// engine computes once every record was read.
    /// </summary>
    public abstract class MailAccessAnalysisCommand : MailAccessInputCommand
    {
        /// <summary>
        /// Only records at or after this time. As with Search-UnifiedAuditLog, a date without a
        /// time is midnight and a time without a zone is UTC; a local [datetime] (Get-Date) is
        /// converted to UTC.
        /// </summary>
        [Parameter]
        public DateTime StartDate { get; set; }

        /// <summary>Only records before this time (same rules as -StartDate).</summary>
        [Parameter]
        public DateTime EndDate { get; set; }

        /// <summary>Only records of these mailboxes (MailboxOwnerUPN; wildcards allowed).</summary>
        [Parameter]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        public string[] Mailbox { get; set; }

        /// <summary>Only records of these acting users (UserId; wildcards allowed).</summary>
        [Parameter]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        public string[] UserIds { get; set; }

        /// <summary>The engine's name for the analysis.</summary>
        private protected abstract string AnalysisName { get; }

        /// <summary>Options particular to the analysis.</summary>
        private protected virtual void AddAnalysisOptions(IDictionary options)
        {
        }

        private protected bool IsBound(string parameter) => MyInvocation.BoundParameters.ContainsKey(parameter);

        private protected sealed override void AddSessionOptions(IDictionary options)
        {
            options["Analysis"] = AnalysisName;
            if (IsBound(nameof(StartDate)))
            {
                options["StartDate"] = StartDate;
            }
            if (IsBound(nameof(EndDate)))
            {
                options["EndDate"] = EndDate;
            }
            if (Mailbox != null)
            {
                options["Mailbox"] = Mailbox;
            }
            if (UserIds != null)
            {
                options["UserIds"] = UserIds;
            }
            AddAnalysisOptions(options);
        }

        private protected sealed override void OnInputComplete(SessionHandle session)
        {
            AnalysisOutput output;
            try
            {
                output = AnalysisReader.Finish(session);
            }
            catch (NativeCallException e)
            {
                ThrowEngineError(e);
                return;
            }
            foreach (string warning in output.Warnings)
            {
                WriteWarning(warning);
            }
            foreach (object result in output.Results)
            {
                WriteObject(result);
            }
        }
    }
}
