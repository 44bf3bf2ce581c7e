using System.Collections.Specialized;
using System.Management.Automation;
using System.Text;
using System.Text.Json;
using MailAccessForensics.Commands;
using MailAccessForensics.Native;
using MailAccessForensics.Tests.TestSupport;
using Xunit;

namespace MailAccessForensics.Tests
{
    /// <summary>
    /// What a report receives of the module's objects, judged by the JSON the real engine
    /// writes: a finding's evidence field by field, its run once and not inside the finding.
    /// </summary>
    public class ReportFileTests
    {
        private static (MailAccessRun Run, CompromiseFinding Finding) RunWithOneFinding()
        {
            var run = new MailAccessRun
            {
                Id = "run-1",
                Command = "Get-CompromisedMailAccess",
                Parameters = new OrderedDictionary { ["AttackerIPAddress"] = new[] { "198.51.100.66" } },
                Inputs = new[] { new MailAccessInput { Kind = "File", Path = "/case/audit.csv", Sha256 = "AB12", HashComplete = true, Records = 3 } },
                Summary = new InputSummary { Read = 3, Analysed = 3, SkippedOperations = new OrderedDictionary() },
                Warnings = new string[0],
                ErrorMessages = new string[0],
                FindingCount = 1,
                StartTime = Samples.Time,
                EndTime = Samples.Time,
            };
            var finding = new CompromiseFinding
            {
                Kind = CompromiseKind.AccessedMessage,
                Mailbox = "alice@contoso.example",
                InternetMessageId = "<one@contoso.example>",
                Evidence = new[]
                {
                    new EvidenceRecord { Time = Samples.Time, RecordId = "r1", Items = new[] { "<one@contoso.example>" }, Folders = new[] { "\\Inbox" }, SourceFile = "/case/audit.csv", SourceLine = 2, Source = "/case/audit.csv:2" },
                },
                Run = run,
            };
            return (run, finding);
        }

        [Fact]
        public void EvidenceIsWrittenFieldByFieldAndTheRunOnce()
        {
            NativeEngine.EnsureLoaded();
            (MailAccessRun run, CompromiseFinding finding) = RunWithOneFinding();
            var items = new ObjectBatchEncoder();
            ReportFile.AddRun(items, run);
            ReportFile.AddFinding(items, PSObject.AsPSObject(finding));

            using JsonDocument json = JsonDocument.Parse(Encoding.UTF8.GetString(ReportFile.Render(items, "Json", null)));
            JsonElement root = json.RootElement;
            Assert.Equal("run-1", root.GetProperty("run").GetProperty("Id").GetString());
            Assert.Equal("AB12", root.GetProperty("run").GetProperty("Inputs")[0].GetProperty("Sha256").GetString());
            Assert.Equal(3, root.GetProperty("run").GetProperty("Summary").GetProperty("Read").GetInt64());
            JsonElement reported = root.GetProperty("findings")[0];
            Assert.False(reported.TryGetProperty("Run", out _));
            JsonElement evidence = reported.GetProperty("Evidence")[0];
            Assert.Equal("r1", evidence.GetProperty("RecordId").GetString());
            Assert.Equal(2, evidence.GetProperty("SourceLine").GetInt64());
            Assert.Equal("<one@contoso.example>", evidence.GetProperty("Items")[0].GetString());
        }

        [Theory]
        [InlineData("verdict.html", "Html")]
        [InlineData("verdict.HTM", "Html")]
        [InlineData("verdict.csv", "Csv")]
        [InlineData("verdict.json", "Json")]
        [InlineData("verdict.jsonl", "JsonLines")]
        [InlineData("verdict.txt", null)]
        [InlineData("verdict", null)]
        public void TheFormatComesFromTheExtension(string path, string? format)
        {
            Assert.Equal(format, ReportFile.FormatOf(path));
        }
    }
}
