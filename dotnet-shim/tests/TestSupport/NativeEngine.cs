using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using MailAccessForensics.Native;
using Xunit;

namespace MailAccessForensics.Tests.TestSupport
{
    /// <summary>What one batch gave: the encoder's bytes, the engine's output and tally.</summary>
    internal sealed class IngestOutcome
    {
        internal IngestOutcome(byte[] bytes, BatchResult result, InputSummary summary)
        {
            Bytes = bytes;
            Result = result;
            Summary = summary;
        }

        internal byte[] Bytes { get; }
        internal BatchResult Result { get; }
        internal InputSummary Summary { get; }

        /// <summary>The record made from the input at <paramref name="inputIndex"/>; fails when there is none.</summary>
        internal MailAccessRecord Record(long inputIndex) => Find(Result.Records, r => r.InputIndex, inputIndex, "record");

        /// <summary>The failure of the input at <paramref name="inputIndex"/>; fails when there is none.</summary>
        internal RecordFailure Failure(long inputIndex) => Find(Result.Failures, f => f.InputIndex, inputIndex, "failure");

        private T Find<T>(List<T> items, Func<T, long> indexOf, long inputIndex, string what) where T : class
        {
            T? found = items.Find(item => indexOf(item) == inputIndex);
            if (found == null)
            {
                Assert.Fail($"no {what} for input {inputIndex}; {Describe()}");
            }
            return found;
        }

        internal string Describe()
        {
            var text = new System.Text.StringBuilder();
            text.Append($"{Result.Records.Count} record(s) at [");
            text.Append(string.Join(", ", Result.Records.ConvertAll(r => r.InputIndex.ToString())));
            text.Append($"], {Result.Failures.Count} failure(s):");
            foreach (RecordFailure failure in Result.Failures)
            {
                text.Append($" [{failure.InputIndex}] {failure.KindName}: {failure.Message};");
            }
            return text.ToString();
        }
    }

    /// <summary>
    /// The real native library, located by MAILACCESSFORENSICS_NATIVE_LIBRARY (build.ps1 Test
    /// sets it to the cargo build's library). Without it every test that needs it fails.
    /// </summary>
    internal static unsafe class NativeEngine
    {
        internal static string LibraryPath
        {
            get
            {
                string? path = Environment.GetEnvironmentVariable(NativeLibraryLoader.OverrideVariable);
                if (string.IsNullOrEmpty(path))
                {
                    Assert.Fail(
                        $"{NativeLibraryLoader.OverrideVariable} is not set. These tests run the real native library: " +
                        "build it with `cargo build --release -p maf-native` and set the variable to target/release/" +
                        $"{NativePlatform.Current.LibraryFileName} (./build.ps1 Test does both).");
                }
                if (!File.Exists(path))
                {
                    Assert.Fail(
                        $"{NativeLibraryLoader.OverrideVariable} names '{path}', which does not exist: " +
                        "build it with `cargo build --release -p maf-native`.");
                }
                return path;
            }
        }

        /// <summary>Loads the library (once per process) after checking the variable.</summary>
        internal static void EnsureLoaded()
        {
            _ = LibraryPath;
            NativeLibraryLoader.EnsureLoaded();
        }

        internal static SessionHandle NewSession(bool returnRecords = true)
        {
            EnsureLoaded();
            var options = new ObjectBatchEncoder(256);
            options.AddMap(new Hashtable { ["ReturnRecords"] = returnRecords });
            return SessionHandle.Create(options.Buffer, options.Length);
        }

        /// <summary>Encodes the inputs as the cmdlet does (one AddObject each) and ingests them.</summary>
        internal static IngestOutcome Ingest(params object[] inputs)
        {
            var encoder = new ObjectBatchEncoder();
            PowerShellHost.OnPipelineThread(() =>
            {
                foreach (object input in inputs)
                {
                    encoder.AddObject(input);
                }
            });
            Assert.Equal(inputs.Length, encoder.Count);
            return Ingest(encoder);
        }

        internal static IngestOutcome Ingest(ObjectBatchEncoder encoder)
        {
            using (SessionHandle session = NewSession())
            {
                BatchResult result = IngestInto(session, encoder.Buffer, encoder.Length, 0);
                InputSummary summary = NativeResults.Tally(session);
                byte[] bytes = new byte[encoder.Length];
                Array.Copy(encoder.Buffer, bytes, encoder.Length);
                return new IngestOutcome(bytes, result, summary);
            }
        }

        internal static BatchResult IngestInto(SessionHandle session, byte[] buffer, int length, long firstIndex)
        {
            return session.Ingest(buffer, length, firstIndex, _ => throw new InvalidOperationException("These tests read no file."));
        }

        /// <summary>Parse and accept on a raw session pointer, for tests that hold the handle's reference themselves.</summary>
        internal static BatchResult IngestRaw(IntPtr session, byte[] buffer, int length, long firstIndex)
        {
            MafParsed* parsed = null;
            fixed (byte* p = buffer)
            {
                NativeCall.Check(NativeMethods.maf_session_parse_objects((MafSession*)session, p, (nuint)length, (ulong)firstIndex, &parsed));
            }
            MafBatch* batch = null;
            NativeCall.Check(NativeMethods.maf_session_accept((MafSession*)session, parsed, &batch));
            return NativeResults.TakeBatch(batch, _ => throw new InvalidOperationException("These tests read no file."));
        }
    }
}
