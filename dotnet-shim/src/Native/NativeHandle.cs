using System;
using System.Runtime.InteropServices;

namespace MailAccessForensics.Native
{
    /// <summary>
    /// An engine object owned by .NET. Being a SafeHandle, it is reference-counted during calls:
    /// a Ctrl+C that disposes the cmdlet while a call runs on another thread cannot free the
    /// object under that call.
    /// </summary>
    internal abstract class NativeHandle : SafeHandle
    {
        protected NativeHandle(IntPtr handle) : base(IntPtr.Zero, ownsHandle: true)
        {
            SetHandle(handle);
        }

        public override bool IsInvalid => handle == IntPtr.Zero;

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
    }
}
