using System;
using System.Collections.Generic;
using System.Collections.Specialized;

namespace MailAccessForensics.Native
{
    /// <summary>A record the engine could not analyse.</summary>
    internal sealed class RecordFailure
    {
        internal long InputIndex;
        internal int FileIndex;
        internal long Line;
        /// <summary>Where the record was: the pipeline object or the file and line.</summary>
        internal string Where = string.Empty;
        internal string KindName = string.Empty;
        internal string? RecordId;
        internal string Message = string.Empty;
    }

    /// <summary>One ingest call's output, converted to managed objects.</summary>
    internal sealed class BatchResult
    {
        internal readonly List<MailAccessRecord> Records = new List<MailAccessRecord>();
        internal readonly List<RecordFailure> Failures = new List<RecordFailure>();
    }

    internal static unsafe class NativeResults
    {
        /// <summary>Reads an ingest call's batch into managed objects and frees it.</summary>
        internal static BatchResult TakeBatch(MafBatch* batch, Func<int, string> fileName)
        {
            try
            {
                var result = new BatchResult();
                byte* arena = batch->arena;
                for (ulong i = 0; i < batch->records_len; i++)
                {
                    result.Records.Add(ToRecord(&batch->records[i], batch, arena, fileName));
                }
                for (ulong i = 0; i < batch->errors_len; i++)
                {
                    MafRecordError* e = &batch->errors[i];
                    result.Failures.Add(new RecordFailure
                    {
                        InputIndex = (long)e->source.index,
                        FileIndex = e->source.file,
                        Line = (long)e->source.line,
                        Where = DescribeSource(e->source, fileName),
                        KindName = NativeCall.RequiredText(arena, e->kind_name),
                        RecordId = NativeCall.Text(arena, e->record_id),
                        Message = NativeCall.RequiredText(arena, e->message),
                    });
                }
                return result;
            }
            finally
            {
                NativeMethods.maf_batch_free(batch);
            }
        }

        private static MailAccessRecord ToRecord(MafRecord* r, MafBatch* batch, byte* arena, Func<int, string> fileName)
        {
            var folders = new List<string>((int)r->folders_len);
            var folderDetails = new MailAccessFolder[r->folders_len];
            for (uint i = 0; i < r->folders_len; i++)
            {
                MafFolder* folder = &batch->folders[r->folders_start + i];
                string? path = NativeCall.Text(arena, folder->path);
                if (path != null)
                {
                    folders.Add(path);
                }
                folderDetails[i] = new MailAccessFolder(path, NativeCall.Text(arena, folder->id), NativeCall.Optional(folder->item_count));
            }
            var items = new MailAccessItem[r->items_len];
            for (uint i = 0; i < r->items_len; i++)
            {
                MafItem* item = &batch->items[r->items_start + i];
                items[i] = new MailAccessItem(
                    NativeCall.RequiredText(arena, item->internet_message_id),
                    NativeCall.Text(arena, item->folder_path),
                    NativeCall.Optional(item->size_in_bytes));
            }
            return new MailAccessRecord
            {
                CreationTime = NativeCall.Time(r->creation_time),
                RecordId = NativeCall.Text(arena, r->record_id),
                Mailbox = NativeCall.Text(arena, r->mailbox),
                MailboxGuid = NativeCall.Text(arena, r->mailbox_guid),
                UserId = NativeCall.Text(arena, r->user_id),
                UserType = NativeCall.Text(arena, r->user_type),
                AccessType = (MailAccessType)r->access_type,
                IsThrottled = TriState(r->is_throttled),
                ClientIPAddress = NativeCall.Text(arena, r->client_ip_address),
                ClientIPAddressOriginal = NativeCall.Text(arena, r->client_ip_address_original),
                ClientPort = r->client_port < 0 ? (int?)null : r->client_port,
                ClientInfoString = NativeCall.Text(arena, r->client_info_string),
                SessionId = NativeCall.Text(arena, r->session_id),
                AppId = NativeCall.Text(arena, r->app_id),
                ClientAppId = NativeCall.Text(arena, r->client_app_id),
                AadSessionId = NativeCall.Text(arena, r->aad_session_id),
                UniqueTokenId = NativeCall.Text(arena, r->unique_token_id),
                IssuedAtTime = r->issued_at_time < 0 ? (DateTime?)null : NativeCall.Time(r->issued_at_time),
                LogonType = NativeCall.Text(arena, r->logon_type),
                ExternalAccess = TriState(r->external_access),
                OperationCount = NativeCall.Optional(r->operation_count),
                OriginatingServer = NativeCall.Text(arena, r->originating_server),
                Folders = folders.ToArray(),
                FolderDetails = folderDetails,
                Items = items,
                IsDegraded = r->is_degraded != 0,
                DegradedReason = NativeCall.Text(arena, r->degraded_reason),
                Source = NativeCall.Text(arena, r->origin) ?? DescribeSource(r->source, fileName),
                InputIndex = (long)r->source.index,
            };
        }

        internal static string DescribeSource(MafSource source, Func<int, string> fileName)
        {
            if (source.file < 0)
            {
                // A document piped as one string (Get-Content -Raw) also says the line in it.
                return source.line > 0 ? $"pipeline object {source.index + 1}, line {source.line}" : $"pipeline object {source.index + 1}";
            }
            string file = fileName(source.file);
            return source.line > 0 ? $"{file}:{source.line}" : $"{file} record {source.index + 1}";
        }

        private static bool? TriState(byte value)
        {
            switch (value)
            {
                case NativeMethods.MAF_TRUE: return true;
                case NativeMethods.MAF_FALSE: return false;
                default: return null;
            }
        }

        /// <summary>Reads the session's tally.</summary>
        internal static InputSummary Tally(SessionHandle session)
        {
            return session.Use(h =>
            {
                MafTally* tally = null;
                NativeCall.Check(NativeMethods.maf_session_tally((MafSession*)h, &tally));
                try
                {
                    var operations = new OrderedDictionary(StringComparer.OrdinalIgnoreCase);
                    for (ulong i = 0; i < tally->skipped_operations_len; i++)
                    {
                        MafOperationCount* op = &tally->skipped_operations[i];
                        operations[NativeCall.RequiredText(tally->arena, op->operation)] = (long)op->count;
                    }
                    var summary = new InputSummary
                    {
                        Read = (long)tally->read,
                        Analysed = (long)tally->analysed,
                        Skipped = (long)tally->skipped,
                        Duplicates = (long)tally->duplicates,
                        Filtered = (long)tally->filtered,
                        Errors = (long)tally->errors,
                        Degraded = (long)tally->degraded,
                        Throttled = (long)tally->throttled,
                        NotThrottled = (long)tally->not_throttled,
                        ThrottlingUnknown = (long)tally->throttling_unknown,
                        SkippedOperations = operations,
                        PossiblyTruncated = tally->possibly_truncated == NativeMethods.MAF_TRUE,
                        TruncationReason = NativeCall.Text(tally->arena, tally->truncation_reason),
                    };
                    summary.IsBalanced = summary.CountsAddUp();
                    return summary;
                }
                finally
                {
                    NativeMethods.maf_tally_free(tally);
                }
            });
        }
    }
}
