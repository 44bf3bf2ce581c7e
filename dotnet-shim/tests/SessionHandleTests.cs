using System;
using System.Threading;
using System.Threading.Tasks;
using MailAccessForensics.Native;
using MailAccessForensics.Tests.TestSupport;
using Xunit;

namespace MailAccessForensics.Tests
{
    public class SessionHandleTests
    {
        private static byte[] Batch(params string[] records)
        {
            var encoder = new ObjectBatchEncoder();
            foreach (string record in records)
            {
                encoder.AddObject(record);
            }
            byte[] bytes = new byte[encoder.Length];
            Array.Copy(encoder.Buffer, bytes, bytes.Length);
            return bytes;
        }

        [Fact]
        public void DisposingDuringACallDoesNotFreeTheSessionUnderIt()
        {
            SessionHandle session = NativeEngine.NewSession();
            byte[] first = Batch(Samples.AuditDataJson("before"));
            byte[] second = Batch(Samples.AuditDataJson("after"));

            BatchResult result = session.Use(h =>
            {
                NativeEngine.IngestRaw(h, first, first.Length, 0);
                // Ctrl+C: the cmdlet is disposed on another thread while this call runs.
                Task.Run(() => session.Dispose()).Wait();
                Assert.False(session.IsClosed, "the session was released while a call held it");
                // The session is still the same live session: it remembers the first batch.
                BatchResult again = NativeEngine.IngestRaw(h, first, first.Length, 1);
                Assert.Empty(again.Records); // a duplicate of the record before
                return NativeEngine.IngestRaw(h, second, second.Length, 2);
            });

            Assert.Equal("after", Assert.Single(result.Records).RecordId);
            // The last reference is gone: now it is released, and using it is refused.
            Assert.True(session.IsClosed);
            Assert.Throws<ObjectDisposedException>(() => session.Use(h => 0));
            Assert.Throws<ObjectDisposedException>(() => NativeResults.Tally(session));
        }

        [Fact]
        public void CancelWhileACallRunsStopsLaterCalls()
        {
            using (SessionHandle session = NativeEngine.NewSession())
            {
                byte[] batch = Batch(Samples.AuditDataJson("one"));
                using (var inCall = new ManualResetEventSlim())
                using (var cancelled = new ManualResetEventSlim())
                {
                    Task<BatchResult> call = Task.Run(() => session.Use(h =>
                    {
                        inCall.Set();
                        Assert.True(cancelled.Wait(TimeSpan.FromSeconds(30)));
                        return NativeEngine.IngestRaw(h, batch, batch.Length, 0);
                    }));
                    Assert.True(inCall.Wait(TimeSpan.FromSeconds(30)));
                    session.Cancel();
                    cancelled.Set();
                    var error = Assert.Throws<NativeCallException>(() => call.GetAwaiter().GetResult());
                    Assert.Equal("Cancelled", error.Status);
                }
            }
        }

        [Fact]
        public void AFailedCallCarriesTheEnginesMessage()
        {
            using (SessionHandle session = NativeEngine.NewSession())
            {
                byte[] truncated = { 8, 2, 0, 0, 0 };
                var error = Assert.Throws<NativeCallException>(() => NativeEngine.IngestInto(session, truncated, truncated.Length, 0));
                Assert.Equal("BadBatch", error.Status);
                Assert.Contains("malformed object batch", error.Message);
            }
        }
    }
}
