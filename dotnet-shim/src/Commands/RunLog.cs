using System;
using System.Collections.Generic;

namespace MailAccessForensics.Commands
{
    /// <summary>
    /// What a command read and said while it ran, for the chain of custody of its run
    /// (<see cref="MailAccessRun"/>): each file with its hash, the pipeline objects, every
    /// warning and the first errors.
    /// </summary>
    internal sealed class RunLog
    {
        /// <summary>Record errors kept word for word; the accounting counts them all.</summary>
        internal const int MaxErrors = 100;

        private readonly List<MailAccessInput> _files = new List<MailAccessInput>();
        private readonly List<string> _warnings = new List<string>();
        private readonly List<string> _errors = new List<string>();

        internal DateTime StartTime { get; set; } = DateTime.UtcNow;

        /// <summary>Objects that came down the pipeline (files among them not counted).</summary>
        internal long PipelineObjects { get; set; }

        internal IReadOnlyList<string> Warnings => _warnings;

        internal IReadOnlyList<string> Errors => _errors;

        internal void AddWarning(string warning) => _warnings.Add(warning);

        internal void AddError(string error)
        {
            if (_errors.Count < MaxErrors)
            {
                _errors.Add(error);
            }
        }

        /// <summary>A file that could not be opened: named, with why, and no hash.</summary>
        internal void AddUnreadableFile(string path, string reason)
        {
            _files.Add(new MailAccessInput { Kind = "File", Path = path, Note = $"Could not be opened: {reason}" });
        }

        /// <summary>A file read to the end of its records.</summary>
        internal void AddFile(string path, long? size, FileDigestResult digest, long records)
        {
            string? note = null;
            if (!digest.Complete)
            {
                note = digest.Failure != null
                    ? $"Reading stopped after {digest.Bytes} bytes ({digest.Failure}): the hash covers those bytes only."
                    : $"Not read to its end (stopped after {digest.Bytes} bytes): the hash covers those bytes only.";
            }
            else if (size.HasValue && size.Value != digest.Bytes)
            {
                note = $"The file changed while it was read: {size.Value} bytes when opened, {digest.Bytes} bytes read and hashed.";
            }
            _files.Add(new MailAccessInput
            {
                Kind = "File",
                Path = path,
                Size = size,
                Sha256 = digest.Sha256,
                BytesHashed = digest.Bytes,
                HashComplete = digest.Complete,
                Records = records,
                Note = note,
            });
        }

        /// <summary>The inputs in the order read, the pipeline last (its records are those not read from files).</summary>
        internal MailAccessInput[] Inputs(InputSummary summary)
        {
            var inputs = new List<MailAccessInput>(_files);
            if (PipelineObjects > 0)
            {
                long fromFiles = 0;
                foreach (MailAccessInput file in _files)
                {
                    fromFiles += file.Records;
                }
                inputs.Add(new MailAccessInput { Kind = "Pipeline", Objects = PipelineObjects, Records = Math.Max(0, summary.Read - fromFiles) });
            }
            return inputs.ToArray();
        }
    }

    /// <summary>What the engine says of a file's hash.</summary>
    internal readonly struct FileDigestResult
    {
        internal FileDigestResult(string sha256, long bytes, bool complete, string? failure)
        {
            Sha256 = sha256;
            Bytes = bytes;
            Complete = complete;
            Failure = failure;
        }

        internal string Sha256 { get; }
        internal long Bytes { get; }
        internal bool Complete { get; }
        internal string? Failure { get; }
    }
}
