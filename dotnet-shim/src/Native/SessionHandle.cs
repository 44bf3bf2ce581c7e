using System;
using System.Runtime.InteropServices;

namespace MailAccessForensics.Native
{
    /// <summary>
    /// Owns a native session. Being a SafeHandle, it is reference-counted during calls: a
    /// Ctrl+C that disposes the cmdlet while a batch is being read on another thread cannot
    /// free the session under that call.
    /// </summary>
    internal sealed unsafe class SessionHandle : SafeHandle
    {
        private SessionHandle() : base(IntPtr.Zero, ownsHandle: true)
        {
        }

        public override bool IsInvalid => handle == IntPtr.Zero;

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
            var result = new SessionHandle();
            result.SetHandle((IntPtr)session);
            return result;
        }

        /// <summary>Runs <paramref name="call"/> with the raw pointer, holding a reference.</summary>
        internal T Use<T>(Func<IntPtr, T> call)
        {
            bool added = false;
            try
            {
                DangerousAddRef(ref added);
                return call(handle);
            }
            finally
            {
                if (added)
                {
                    DangerousRelease();
                }
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

    /// <summary>A failed native call: its status and the engine's message.</summary>
    public sealed class NativeCallException : Exception
    {
        internal NativeCallException(MafStatus status, string message) : base(message)
        {
            Status = status.ToString();
        }

        /// <summary>The engine's status name (InvalidArgument, Panic, BadBatch, Cancelled, Io).</summary>
        public string Status { get; }
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

        /// <summary>Text from a result arena; null when absent.</summary>
        internal static string Text(byte* arena, MafText text)
        {
            if (text.len < 0)
            {
                return null;
            }
            return text.len == 0 ? string.Empty : System.Text.Encoding.UTF8.GetString(arena + text.offset, text.len);
        }
    }
}
