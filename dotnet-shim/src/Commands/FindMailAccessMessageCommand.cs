using System;
using System.Collections;
using System.Collections.Generic;
using System.Management.Automation;
using MailAccessForensics.Native;

namespace MailAccessForensics.Commands
{
    /// <summary>
    /// Find-MailAccessMessage: every access to the given messages, whoever made it, with its
    /// time and context. Message ids are accepted with or without angle brackets. With -Path the
    /// pipeline carries the ids (for example a list of sensitive messages); without, it carries
    /// the records and the ids come by parameter.
    /// </summary>
    [Cmdlet(VerbsCommon.Find, "MailAccessMessage", DefaultParameterSetName = InputObjectSet)]
    [OutputType(typeof(MessageAccess))]
    public sealed class FindMailAccessMessageCommand : MailAccessAnalysisCommand
    {
        private readonly List<string> _ids = new List<string>();
        private bool _filesQueued;

        /// <summary>The InternetMessageId values to look for.</summary>
        [Parameter(Mandatory = true, ParameterSetName = InputObjectSet)]
        [Parameter(Mandatory = true, ParameterSetName = PathSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string[] InternetMessageId { get; set; } = Array.Empty<string>();

        private protected override AnalysisName AnalysisName => AnalysisName.Find;

        /// <summary>With files, the ids arrive through the pipeline: the search starts when they are all in.</summary>
        private protected override bool DefersSession => ParameterSetName != InputObjectSet;

        protected override void ProcessRecord()
        {
            if (ParameterSetName == InputObjectSet)
            {
                base.ProcessRecord();
                return;
            }
            _ids.AddRange(InternetMessageId);
            if (!_filesQueued)
            {
                _filesQueued = true;
                base.ProcessRecord();
            }
        }

        private protected override void AddAnalysisOptions(IDictionary options)
        {
            options["InternetMessageId"] = ParameterSetName == InputObjectSet ? InternetMessageId : _ids.ToArray();
        }
    }
}
