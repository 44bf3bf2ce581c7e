using System;
using System.Collections.Generic;

namespace MailAccessForensics.Native
{
    /// <summary>A finished analysis: its warnings and result rows, as the engine wrote them.</summary>
    internal sealed unsafe class AnalysisHandle : NativeHandle
    {
        private AnalysisHandle(IntPtr analysis) : base(analysis)
        {
        }

        protected override bool ReleaseHandle()
        {
            NativeMethods.maf_analysis_free((MafAnalysis*)handle);
            return true;
        }

        /// <summary>Ends the session's analysis.</summary>
        internal static AnalysisHandle Finish(SessionHandle session)
        {
            return session.Use(h =>
            {
                MafAnalysis* analysis = null;
                NativeCall.Check(NativeMethods.maf_session_finish((MafSession*)h, &analysis));
                return new AnalysisHandle((IntPtr)analysis);
            });
        }

        /// <summary>The analysis' warnings, in words.</summary>
        internal string[] Warnings() => Use(a => new AnalysisReader((MafAnalysis*)a).Warnings());

        /// <summary>
        /// Makes each result row into its result type, in the engine's order, and hands it to
        /// <paramref name="write"/> before making the next, so that a cmdlet can write it down
        /// the pipeline and hold none (a million messages read are a million objects).
        /// <paramref name="fileName"/> names the files evidence was read from.
        /// </summary>
        internal void Read(Func<int, string> fileName, Action<object> write)
        {
            Use(a =>
            {
                new AnalysisReader((MafAnalysis*)a).Read(fileName, write);
                return 0;
            });
        }
    }

    /// <summary>Reads MafAnalysis rows into the module's result types.</summary>
    internal sealed unsafe class AnalysisReader
    {
        internal string[] Warnings() => Words(a->warnings);

        internal void Read(Func<int, string> fileName, Action<object> write)
        {
            // One analysis fills one kind of row; the others are empty.
            ReadWindows(write);
            ReadSyncs(write);
            ReadContexts(write);
            ReadReads(write);
            ReadAccesses(write);
            ReadFindings(write, fileName);
        }

        private readonly MafAnalysis* a;

        internal AnalysisReader(MafAnalysis* analysis)
        {
            a = analysis;
        }

        private string? Text(MafText t) => NativeCall.Text(a->arena, t);

        private string RequiredText(MafText t) => NativeCall.RequiredText(a->arena, t);

        /// <summary>A message of the engine (a warning, a reason, a phrase), as data.</summary>
        private EngineMessage Message(uint index)
        {
            MafMessage* m = &a->messages[index];
            var values = new string?[m->values.len];
            for (uint i = 0; i < m->values.len; i++)
            {
                values[i] = NativeCall.Text(a->arena, a->texts[m->values.start + i]);
            }
            var phrases = new EngineMessage[m->phrases.len];
            for (uint i = 0; i < m->phrases.len; i++)
            {
                phrases[i] = Message(m->phrases.start + i);
            }
            return new EngineMessage((MessageCode)m->code, values, phrases);
        }

        /// <summary>A message in words (<see cref="EngineWording"/>).</summary>
        private string Word(uint index) => EngineWording.Word(Message(index));

        private string[] Words(MafMessageList list)
        {
            var words = new string[list.len];
            for (uint i = 0; i < list.len; i++)
            {
                words[i] = Word(list.start + i);
            }
            return words;
        }

        private string[] List(MafTextList list)
        {
            var values = new string[list.len];
            for (uint i = 0; i < list.len; i++)
            {
                values[i] = NativeCall.RequiredText(a->arena, a->texts[list.start + i]);
            }
            return values;
        }

        /// <summary>Get-MailAccessThrottling's unaudited windows.</summary>
        private void ReadWindows(Action<object> write)
        {
            for (ulong i = 0; i < a->windows_len; i++)
            {
                MafUnauditedWindow* w = &a->windows[i];
                write(new UnauditedWindow
                {
                    Mailbox = Text(w->mailbox),
                    Start = NativeCall.Time(w->start),
                    End = NativeCall.Time(w->end),
                    ThrottledRecordCount = (long)w->throttled_record_count,
                    RecordIds = List(w->record_ids),
                });
            }
        }

        /// <summary>Get-MailAccessSync's synced folders.</summary>
        private void ReadSyncs(Action<object> write)
        {
            for (ulong i = 0; i < a->syncs_len; i++)
            {
                MafSyncActivity* s = &a->syncs[i];
                write(new SyncActivity
                {
                    Mailbox = Text(s->mailbox),
                    FolderPath = Text(s->folder_path),
                    Start = NativeCall.Time(s->start),
                    End = NativeCall.Time(s->end),
                    SyncCount = (long)s->sync_count,
                    ClientIPAddress = Text(s->context.client_ip_address),
                    ClientInfoString = Text(s->context.client_info_string),
                    SessionId = Text(s->context.session_id),
                    UserId = Text(s->context.user_id),
                    RecordIds = List(s->record_ids),
                });
            }
        }

        /// <summary>Get-MailAccessContext's access contexts.</summary>
        private void ReadContexts(Action<object> write)
        {
            for (ulong i = 0; i < a->access_contexts_len; i++)
            {
                MafAccessContext* c = &a->access_contexts[i];
                write(new AccessContext
                {
                    ClientIPAddress = Text(c->context.client_ip_address),
                    ClientInfoString = Text(c->context.client_info_string),
                    SessionId = Text(c->context.session_id),
                    UserId = Text(c->context.user_id),
                    AppId = List(c->app_ids),
                    ClientAppId = List(c->client_app_ids),
                    AadSessionId = List(c->aad_session_ids),
                    UniqueTokenId = List(c->unique_token_ids),
                    Mailboxes = List(c->mailboxes),
                    Start = NativeCall.Time(c->start),
                    End = NativeCall.Time(c->end),
                    RecordCount = (long)c->record_count,
                    BindCount = (long)c->bind_count,
                    SyncCount = (long)c->sync_count,
                    MessageCount = (long)c->message_count,
                    Bytes = (long)c->bytes,
                    Signals = List(c->signals),
                    Score = (int)c->score,
                });
            }
        }

        /// <summary>Get-MailAccessBind's messages read. The engine writes a mailbox, folder or
        /// context that many rows share once; each is read once here and shared by the rows
        /// (immutable strings and ClientContext objects), so memory grows with the messages
        /// and not with their copies of the same texts.</summary>
        private void ReadReads(Action<object> write)
        {
            // By offset and length: an empty text may start where the next one does.
            var texts = new Dictionary<(uint, int), string?>();
            var clientContexts = new Dictionary<uint, ClientContext>();
            string? SharedText(MafText t)
            {
                if (t.len < 0)
                {
                    return null;
                }
                if (!texts.TryGetValue((t.offset, t.len), out string? text))
                {
                    text = Text(t);
                    texts.Add((t.offset, t.len), text);
                }
                return text;
            }
            for (ulong i = 0; i < a->reads_len; i++)
            {
                MafMessageRead* r = &a->reads[i];
                var contexts = new ClientContext[r->contexts_len];
                for (uint k = 0; k < r->contexts_len; k++)
                {
                    uint index = r->contexts_start + k;
                    if (!clientContexts.TryGetValue(index, out ClientContext? context))
                    {
                        MafContextText* c = &a->contexts[index];
                        context = new ClientContext(Text(c->client_ip_address), Text(c->client_info_string), Text(c->session_id), Text(c->user_id));
                        clientContexts.Add(index, context);
                    }
                    contexts[k] = context;
                }
                write(new MessageRead
                {
                    Mailbox = SharedText(r->mailbox),
                    InternetMessageId = RequiredText(r->internet_message_id),
                    FolderPath = SharedText(r->folder_path),
                    SizeInBytes = NativeCall.Optional(r->size_in_bytes),
                    Start = NativeCall.Time(r->start),
                    End = NativeCall.Time(r->end),
                    AccessCount = (long)r->access_count,
                    Contexts = contexts,
                });
            }
        }

        /// <summary>Find-MailAccessMessage's accesses.</summary>
        private void ReadAccesses(Action<object> write)
        {
            for (ulong i = 0; i < a->accesses_len; i++)
            {
                MafMessageAccess* m = &a->accesses[i];
                write(new MessageAccess
                {
                    InternetMessageId = RequiredText(m->internet_message_id),
                    Mailbox = Text(m->mailbox),
                    CreationTime = NativeCall.Time(m->creation_time),
                    FolderPath = Text(m->folder_path),
                    SizeInBytes = NativeCall.Optional(m->size_in_bytes),
                    ClientIPAddress = Text(m->context.client_ip_address),
                    ClientInfoString = Text(m->context.client_info_string),
                    SessionId = Text(m->context.session_id),
                    UserId = Text(m->context.user_id),
                    AppId = Text(m->app_id),
                    ClientAppId = Text(m->client_app_id),
                    RecordId = Text(m->record_id),
                });
            }
        }

        /// <summary>The verdict's findings, each with its evidence records.</summary>
        private void ReadFindings(Action<object> write, Func<int, string> fileName)
        {
            var evidence = new EvidenceRecord[a->evidence_len];
            for (ulong i = 0; i < a->evidence_len; i++)
            {
                MafEvidenceRecord* e = &a->evidence[i];
                evidence[i] = new EvidenceRecord
                {
                    Time = NativeCall.Time(e->time),
                    Mailbox = Text(e->mailbox),
                    UserId = Text(e->context.user_id),
                    AccessType = (MailAccessType)e->access_type,
                    IsThrottled = e->is_throttled == NativeMethods.MAF_TRUE ? true : e->is_throttled == NativeMethods.MAF_FALSE ? false : (bool?)null,
                    ClientIPAddress = Text(e->context.client_ip_address),
                    ClientInfoString = Text(e->context.client_info_string),
                    SessionId = Text(e->context.session_id),
                    AppId = Text(e->app_id),
                    ClientAppId = Text(e->client_app_id),
                    AadSessionId = Text(e->aad_session_id),
                    UniqueTokenId = Text(e->unique_token_id),
                    Folders = List(e->folders),
                    Items = List(e->items),
                    OperationCount = NativeCall.Optional(e->operation_count),
                    RecordId = Text(e->record_id),
                    SourceFile = e->source.file < 0 ? null : fileName(e->source.file),
                    SourceLine = e->source.line > 0 ? (long)e->source.line : (long?)null,
                    // A module record brought back in says where it was first read.
                    Source = Text(e->origin) ?? NativeResults.DescribeSource(e->source, fileName),
                };
            }
            var evidenceOf = new List<EvidenceRecord>[a->findings_len];
            for (ulong i = 0; i < a->finding_evidence_len; i++)
            {
                MafFindingEvidence* pair = &a->finding_evidence[i];
                (evidenceOf[pair->finding] ??= new List<EvidenceRecord>()).Add(evidence[pair->evidence]);
            }
            for (ulong i = 0; i < a->findings_len; i++)
            {
                MafFinding* f = &a->findings[i];
                write(new CompromiseFinding
                {
                    Kind = (CompromiseKind)f->kind,
                    Mailbox = Text(f->mailbox),
                    FolderPath = Text(f->folder_path),
                    InternetMessageId = Text(f->internet_message_id),
                    SizeInBytes = NativeCall.Optional(f->size_in_bytes),
                    Start = NativeCall.Time(f->start),
                    End = NativeCall.Time(f->end),
                    AccessCount = NativeCall.Optional(f->access_count),
                    ClientIPAddress = List(f->client_ip_addresses),
                    SessionId = List(f->session_ids),
                    ClientInfoString = List(f->client_info_strings),
                    AadSessionId = List(f->aad_session_ids),
                    UserId = List(f->user_ids),
                    AppId = List(f->app_ids),
                    ClientAppId = List(f->client_app_ids),
                    UniqueTokenId = List(f->unique_token_ids),
                    Reason = Word(f->reason),
                    EvidenceRecordIds = List(f->evidence_record_ids),
                    Evidence = evidenceOf[i]?.ToArray() ?? Array.Empty<EvidenceRecord>(),
                });
            }
        }
    }
}
