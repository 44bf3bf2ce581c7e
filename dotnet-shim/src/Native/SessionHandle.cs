using System;
using System.Runtime.InteropServices;

namespace MailAccessForensics.Native
{
    /// <summary>Owns a native session: the records read so far, their tally and analysis.</summary>
    internal sealed unsafe class SessionHandle : NativeHandle
    {
        private SessionHandle(IntPtr session) : base(session)
        {
        }

        protected override bool ReleaseHandle()
        {
            NativeMethods.maf_session_free((MafSession*)handle);
            return true;
        }

        internal static SessionHandle Create(byte[] options, int length)
        {
            MafSession* session = null;
            MafStatus status;
            fixed (byte* p = options)
            {
                status = NativeMethods.maf_session_new(p, (nuint)length, &session);
            }
            NativeCall.Check(status);
            return new SessionHandle((IntPtr)session);
        }

        /// <summary>
        /// Reads a batch of encoded pipeline objects into records, without counting them: safe
        /// on several threads at once. <paramref name="buffer"/> may be reused once this returns.
        /// </summary>
        internal ParsedBatch Parse(byte[] buffer, int length, long firstIndex)
        {
            return Use(h =>
            {
                MafParsed* parsed = null;
                fixed (byte* p = buffer)
                {
                    NativeCall.Check(NativeMethods.maf_session_parse_objects((MafSession*)h, p, (nuint)length, (ulong)firstIndex, &parsed));
                }
                return new ParsedBatch((IntPtr)parsed);
            });
        }

        /// <summary>Counts a parsed batch (in the order batches are accepted) and returns its output.</summary>
        internal BatchResult Accept(ParsedBatch parsed, Func<int, string> fileName)
        {
            return Use(h =>
            {
                MafBatch* batch = null;
                // The engine takes the parsed batch whatever happens: the handle lets go of it.
                IntPtr raw = parsed.Release();
                NativeCall.Check(NativeMethods.maf_session_accept((MafSession*)h, (MafParsed*)raw, &batch));
                return NativeResults.TakeBatch(batch, fileName);
            });
        }

        /// <summary>Parse and accept in one step.</summary>
        internal BatchResult Ingest(byte[] buffer, int length, long firstIndex, Func<int, string> fileName)
        {
            using (ParsedBatch parsed = Parse(buffer, length, firstIndex))
            {
                return Accept(parsed, fileName);
            }
        }

        /// <summary>Asks the engine to stop; safe while another thread is in a call.</summary>
        internal void Cancel()
        {
            Use(h =>
            {
                NativeMethods.maf_session_cancel((MafSession*)h);
                return 0;
            });
        }
    }

    /// <summary>Records parsed from a batch and not yet counted; freed if never accepted.</summary>
    internal sealed unsafe class ParsedBatch : NativeHandle
    {
        internal ParsedBatch(IntPtr parsed) : base(parsed)
        {
        }

        /// <summary>Hands the pointer over (to maf_session_accept): this handle no longer frees it.</summary>
        internal IntPtr Release()
        {
            IntPtr raw = handle;
            SetHandleAsInvalid();
            return raw;
        }

        protected override bool ReleaseHandle()
        {
            NativeMethods.maf_parsed_free((MafParsed*)handle);
            return true;
        }
    }

    /// <summary>A failed native call: its status and the engine's message.</summary>
    public sealed class NativeCallException : Exception
    {
        internal NativeCallException(MafStatus status, string message) : base(message)
        {
            StatusCode = status;
        }

        /// <summary>The engine's status name (InvalidArgument, Panic, BadBatch, Cancelled, Io).</summary>
        public string Status => StatusCode.ToString();

        /// <summary>The engine's status, which the shim decides by.</summary>
        internal MafStatus StatusCode { get; }
    }

    internal static unsafe class NativeCall
    {
        internal static void Check(MafStatus status)
        {
            if (status != MafStatus.Ok)
            {
                throw new NativeCallException(status, LastError());
            }
        }

        /// <summary>The calling thread's last engine error message.</summary>
        internal static string LastError()
        {
            nuint needed = NativeMethods.maf_last_error(null, 0);
            if (needed == 0)
            {
                return "the engine reported an error without a message";
            }
            var buffer = new byte[(int)needed];
            fixed (byte* p = buffer)
            {
                NativeMethods.maf_last_error(p, needed);
            }
            return System.Text.Encoding.UTF8.GetString(buffer);
        }

        /// <summary>The native engine's version.</summary>
        internal static string EngineVersion()
        {
            nuint needed = NativeMethods.maf_engine_version(null, 0);
            var buffer = new byte[(int)needed];
            fixed (byte* p = buffer)
            {
                NativeMethods.maf_engine_version(p, needed);
            }
            return System.Text.Encoding.UTF8.GetString(buffer);
        }

        /// <summary>Engine times are UTC ticks.</summary>
        internal static DateTime Time(long ticks) => new DateTime(ticks, DateTimeKind.Utc);

        /// <summary>The engine writes -1 for a number a record does not hold.</summary>
        internal static long? Optional(long value) => value < 0 ? (long?)null : value;

        /// <summary>Text from a result arena; null when absent.</summary>
        internal static string? Text(byte* arena, MafText text)
        {
            if (text.len < 0)
            {
                return null;
            }
            return text.len == 0 ? string.Empty : System.Text.Encoding.UTF8.GetString(arena + text.offset, text.len);
        }

        /// <summary>
        /// Text the engine always writes (the FFI rows fill it with Arena::text, never Arena::opt):
        /// list items, reasons, messages, names. Absent would be a broken library, not a record
        /// that does not say.
        /// </summary>
        internal static string RequiredText(byte* arena, MafText text)
        {
            return Text(arena, text) ?? throw new InvalidOperationException("The native engine left out a text it always writes; the library does not match this module.");
        }
    }
}
