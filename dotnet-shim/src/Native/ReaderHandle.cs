using System;
using System.Runtime.InteropServices;

namespace MailAccessForensics.Native
{
    /// <summary>A file being read by the engine into a session.</summary>
    internal sealed unsafe class ReaderHandle : NativeHandle
    {
        private ReaderHandle(IntPtr reader) : base(reader)
        {
        }

        protected override bool ReleaseHandle()
        {
            NativeMethods.maf_reader_free((MafReader*)handle);
            return true;
        }

        /// <summary>Opens <paramref name="path"/>; throws NativeCallException (status Io) when it cannot.</summary>
        internal static ReaderHandle Open(SessionHandle session, string path, int fileIndex)
        {
            return session.Use(s =>
            {
                MafReader* reader = null;
                MafStatus status;
                // The path crosses as UTF-16, so every file name Windows allows arrives intact.
                fixed (char* p = path)
                {
                    status = NativeMethods.maf_reader_open((MafSession*)s, (ushort*)p, (nuint)path.Length, (uint)fileIndex, &reader);
                }
                NativeCall.Check(status);
                return new ReaderHandle((IntPtr)reader);
            });
        }

        /// <summary>Reads the next chunk into the session; null at the end of the file.</summary>
        internal BatchResult? Next(SessionHandle session, Func<int, string> fileName)
        {
            return session.Use(s => Use(r =>
            {
                MafBatch* batch = null;
                NativeCall.Check(NativeMethods.maf_reader_next((MafSession*)s, (MafReader*)r, &batch));
                return batch == null ? null : NativeResults.TakeBatch(batch, fileName);
            }));
        }

        /// <summary>
        /// The SHA-256 of the file: ask once <see cref="Next"/> has returned null (the engine then
        /// hashes what the reader left of the file, so the hash is the whole file's).
        /// </summary>
        internal Commands.FileDigestResult Digest(SessionHandle session)
        {
            return session.Use(s => Use(r =>
            {
                MafDigest* digest = null;
                NativeCall.Check(NativeMethods.maf_reader_digest((MafSession*)s, (MafReader*)r, &digest));
                try
                {
                    return new Commands.FileDigestResult(
                        NativeCall.RequiredText(digest->arena, digest->sha256),
                        (long)digest->bytes,
                        digest->complete != 0,
                        NativeCall.Text(digest->arena, digest->failure));
                }
                finally
                {
                    NativeMethods.maf_digest_free(digest);
                }
            }));
        }

        /// <summary>Bytes read, the file's size (-1 when unknown) and records, after the last chunk.</summary>
        internal MafProgress Progress()
        {
            return Use(r =>
            {
                MafProgress progress;
                NativeCall.Check(NativeMethods.maf_reader_progress((MafReader*)r, &progress));
                return progress;
            });
        }
    }
}
