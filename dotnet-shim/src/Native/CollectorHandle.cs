using System;
using System.Collections.Generic;
using System.Text;

namespace MailAccessForensics.Native
{
    /// <summary>What the collector asks for next, copied out of the engine.</summary>
    internal sealed class CollectStep
    {
        internal uint Kind;
        internal long Window;
        internal uint Page;
        internal uint Session;
        internal DateTime Start;
        internal DateTime End;
        internal TimeSpan Wait;
        internal string SessionId = string.Empty;
        /// <summary>What happened since the last step, one line each.</summary>
        internal string[] Notes = Array.Empty<string>();
        internal long WindowsDone;
        internal long RecordsWritten;
        internal int Permille;

        internal bool IsCall => Kind == NativeMethods.MAF_STEP_CALL;
        internal bool IsWait => Kind == NativeMethods.MAF_STEP_WAIT;
        internal bool IsDone => Kind == NativeMethods.MAF_STEP_DONE;
    }

    /// <summary>A collection being fetched into a folder (Save-MailAccessAuditLog).</summary>
    internal sealed unsafe class CollectorHandle : NativeHandle
    {
        private CollectorHandle(IntPtr collector) : base(collector)
        {
        }

        protected override bool ReleaseHandle()
        {
            NativeMethods.maf_collector_free((MafCollector*)handle);
            return true;
        }

        /// <summary>Opens or starts the collection the options name; throws NativeCallException.</summary>
        internal static CollectorHandle Create(ObjectBatchEncoder options)
        {
            MafCollector* collector = null;
            MafStatus status;
            fixed (byte* p = options.Buffer)
            {
                status = NativeMethods.maf_collector_new(p, (nuint)options.Length, &collector);
            }
            NativeCall.Check(status);
            return new CollectorHandle((IntPtr)collector);
        }

        internal CollectStep Next()
        {
            return Use(h =>
            {
                MafCollectStep step;
                NativeCall.Check(NativeMethods.maf_collector_next((MafCollector*)h, &step));
                string notes = Borrowed(step.notes, step.notes_len);
                return new CollectStep
                {
                    Kind = step.kind,
                    Window = (long)step.window,
                    Page = step.page,
                    Session = step.session,
                    Start = NativeCall.Time(step.start),
                    End = NativeCall.Time(step.end),
                    Wait = TimeSpan.FromMilliseconds(step.wait_ms),
                    SessionId = Borrowed(step.session_id, step.session_id_len),
                    Notes = notes.Length == 0 ? new string[0] : notes.Split('\n'),
                    WindowsDone = (long)step.windows_done,
                    RecordsWritten = (long)step.records_written,
                    Permille = (int)step.permille,
                };
            });
        }

        /// <summary>The call returned these objects (encoded whole).</summary>
        internal void Page(ObjectBatchEncoder records)
        {
            Use(h =>
            {
                fixed (byte* p = records.Buffer)
                {
                    NativeCall.Check(NativeMethods.maf_collector_page((MafCollector*)h, p, (nuint)records.Length));
                }
                return 0;
            });
        }

        /// <summary>The call failed with this message.</summary>
        internal void Failed(string message)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(message ?? "unknown error");
            Use(h =>
            {
                fixed (byte* p = bytes)
                {
                    NativeCall.Check(NativeMethods.maf_collector_failed((MafCollector*)h, p, (nuint)bytes.Length));
                }
                return 0;
            });
        }

        /// <summary>Records the audit configuration checks (one list node) in the manifest.</summary>
        internal void RecordAuditChecks(ObjectBatchEncoder checks)
        {
            Use(h =>
            {
                fixed (byte* p = checks.Buffer)
                {
                    NativeCall.Check(NativeMethods.maf_collector_record_audit_checks((MafCollector*)h, p, (nuint)checks.Length));
                }
                return 0;
            });
        }

        internal void Finish(bool stopped)
        {
            Use(h =>
            {
                NativeCall.Check(NativeMethods.maf_collector_finish((MafCollector*)h, stopped ? (byte)1 : (byte)0));
                return 0;
            });
        }

        internal MailAccessCollection Summary()
        {
            return Use(h =>
            {
                MafCollection* collection = null;
                NativeCall.Check(NativeMethods.maf_collector_summary((MafCollector*)h, &collection));
                return NativeCollections.Take(collection);
            });
        }

        private static string Borrowed(byte* text, ulong length)
        {
            return text == null || length == 0 ? string.Empty : Encoding.UTF8.GetString(text, (int)length);
        }
    }

    internal static unsafe class NativeCollections
    {
        /// <summary>
        /// Checks the collection folder as input of the session (which learns why it may be
        /// incomplete); its files are then read with indexes from <paramref name="firstFileIndex"/>.
        /// Throws NativeCallException (status Io) when the folder holds no collection.
        /// </summary>
        internal static MailAccessCollection Read(SessionHandle session, string folder, int firstFileIndex)
        {
            return session.Use(s =>
            {
                MafCollection* collection = null;
                MafStatus status;
                fixed (char* p = folder)
                {
                    status = NativeMethods.maf_session_read_collection((MafSession*)s, (ushort*)p, (nuint)folder.Length, (uint)firstFileIndex, &collection);
                }
                NativeCall.Check(status);
                return Take(collection);
            });
        }

        private static CollectionWindowStatus WindowStatus(uint status)
        {
            return status == NativeMethods.MAF_WINDOW_COMPLETE ? CollectionWindowStatus.Complete
                : status == NativeMethods.MAF_WINDOW_INCOMPLETE ? CollectionWindowStatus.Incomplete
                : CollectionWindowStatus.Pending;
        }

        private static string[] List(MafCollection* c, MafTextList list)
        {
            var values = new string[list.len];
            for (uint i = 0; i < list.len; i++)
            {
                values[i] = NativeCall.RequiredText(c->arena, c->texts[list.start + i]);
            }
            return values;
        }

        /// <summary>Reads a collection into managed objects and frees it.</summary>
        internal static MailAccessCollection Take(MafCollection* c)
        {
            try
            {
                byte* arena = c->arena;
                var windows = new CollectionWindow[c->windows_len];
                for (ulong i = 0; i < c->windows_len; i++)
                {
                    MafCollectionWindow* w = &c->windows[i];
                    windows[i] = new CollectionWindow
                    {
                        Start = NativeCall.Time(w->start),
                        End = NativeCall.Time(w->end),
                        Status = WindowStatus(w->status),
                        Reason = NativeCall.Text(arena, w->reason),
                        Records = (long)w->written,
                        Calls = (long)w->calls,
                        Sessions = (long)w->sessions,
                        Failures = (long)w->failures,
                        Returned = (long)w->returned,
                        Duplicates = (long)w->duplicates,
                        OtherMailboxes = (long)w->other_mailboxes,
                    };
                }
                var files = new List<string>();
                for (ulong i = 0; i < c->files_len; i++)
                {
                    files.Add(NativeCall.RequiredText(arena, c->files[i].path));
                }
                var incomplete = new List<CollectionWindow>();
                foreach (CollectionWindow w in windows)
                {
                    if (w.Status != CollectionWindowStatus.Complete)
                    {
                        incomplete.Add(w);
                    }
                }
                return new MailAccessCollection
                {
                    Path = NativeCall.RequiredText(arena, c->folder),
                    Complete = c->complete != 0,
                    Settled = c->settled != 0,
                    RecordCount = (long)c->record_count,
                    StartDate = NativeCall.Time(c->start),
                    EndDate = NativeCall.Time(c->end),
                    Mailbox = List(c, c->mailboxes),
                    Operations = List(c, c->operations),
                    Windows = windows,
                    IncompleteWindows = incomplete.ToArray(),
                    Files = files.ToArray(),
                    Reasons = List(c, c->reasons),
                };
            }
            finally
            {
                NativeMethods.maf_collection_free(c);
            }
        }
    }
}
