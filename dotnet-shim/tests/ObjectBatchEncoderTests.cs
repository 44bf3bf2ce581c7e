using System;
using System.Collections;
using System.Collections.Generic;
using System.Collections.Specialized;
using System.Linq;
using System.Management.Automation;
using System.Text;
using MailAccessForensics.Native;
using MailAccessForensics.Tests.TestSupport;
using Xunit;

namespace MailAccessForensics.Tests
{
    /// <summary>
    /// The encoder, judged by what the real engine makes of its batches: each test encodes
    /// pipeline objects as the cmdlet does, ingests them in a native session that returns
    /// records, and checks the MailAccessRecords and RecordFailures that come back.
    /// </summary>
    public class ObjectBatchEncoderTests
    {
        private static PSObject Wrap(object value) => PSObject.AsPSObject(value);

        private static void AssertSampleRecord(MailAccessRecord record, string id = "5b6a0f6e-1c1f-4c55-9d9e-4f3f7f0d2a11")
        {
            Assert.Equal(id, record.RecordId);
            Assert.Equal(Samples.Time, record.CreationTime);
            Assert.Equal(DateTimeKind.Utc, record.CreationTime.Kind);
            Assert.Equal(MailAccessType.Bind, record.AccessType);
            Assert.False(record.IsThrottled);
            Assert.Equal("alice@contoso.example", record.UserId);
            Assert.Equal(new[] { "<one@contoso.example>", "<two@contoso.example>" }, record.Items.Select(i => i.InternetMessageId));
        }

        // ---- the fast path ------------------------------------------------------------------

        [Fact]
        public void PSCustomObjectWithAuditDataTextSendsThatPropertyAndItsResultPositionAlone()
        {
            PowerShellHost.Run("$global:watchedReads = 0");
            PSObject row = PowerShellHost.One(@"
                $row = [pscustomobject]@{
                    RecordType = 'ExchangeItemAggregated'
                    CreationDate = [datetime]'2024-03-01T12:34:56'
                    UserIds = 'wrapper-user@contoso.example'
                    Operations = 'MailItemsAccessed'
                    MailboxOwnerUPN = 'wrapper-owner@contoso.example'
                    AuditData = $json
                    ResultIndex = 7
                    ResultCount = 5000
                    Identity = 'wrapper-identity'
                }
                $row | Add-Member -MemberType ScriptProperty -Name Watched -Value { $global:watchedReads++; 'read' }
                $row", "json", Samples.AuditDataJson());

            IngestOutcome outcome = NativeEngine.Ingest(row);

            // Exactly one map with three entries: AuditData and its text, then the record's
            // place in its query's results (which tells a query cut short).
            byte[] key = Encoding.UTF8.GetBytes("AuditData");
            byte[] json = Encoding.UTF8.GetBytes(Samples.AuditDataJson());
            var expected = new List<byte> { 8, 3, 0, 0, 0 };
            expected.AddRange(BitConverter.GetBytes(key.Length));
            expected.AddRange(key);
            expected.Add(5);
            expected.AddRange(BitConverter.GetBytes(json.Length));
            expected.AddRange(json);
            foreach (var (name, value) in new[] { ("ResultIndex", 7L), ("ResultCount", 5000L) })
            {
                byte[] nameBytes = Encoding.UTF8.GetBytes(name);
                expected.AddRange(BitConverter.GetBytes(nameBytes.Length));
                expected.AddRange(nameBytes);
                expected.Add(3);
                expected.AddRange(BitConverter.GetBytes(value));
            }
            Assert.Equal(expected.ToArray(), outcome.Bytes);
            Assert.Equal(0, PowerShellHost.One("$global:watchedReads").BaseObject);

            Assert.Empty(outcome.Result.Failures);
            MailAccessRecord record = outcome.Record(0);
            AssertSampleRecord(record);
            // The wrapper's MailboxOwnerUPN would fill the gap in AuditData had it been sent.
            Assert.Null(record.Mailbox);
        }

        [Fact]
        public void WithoutAuditDataTextTheWholeObjectIsWalked()
        {
            // The same wrapper with AuditData as an object (ConvertFrom-Json of it): no fast
            // path, every property is read and the wrapper fills what AuditData lacks.
            PowerShellHost.Run("$global:watchedReads = 0");
            PSObject row = PowerShellHost.One(@"
                $row = [pscustomobject]@{
                    Operations = 'MailItemsAccessed'
                    MailboxOwnerUPN = 'wrapper-owner@contoso.example'
                    AuditData = $json | ConvertFrom-Json
                }
                $row | Add-Member -MemberType ScriptProperty -Name Watched -Value { $global:watchedReads++; 'read' }
                $row", "json", Samples.AuditDataJson());

            IngestOutcome outcome = NativeEngine.Ingest(row);

            Assert.Equal(1, PowerShellHost.One("$global:watchedReads").BaseObject);
            Assert.Empty(outcome.Result.Failures);
            MailAccessRecord record = outcome.Record(0);
            AssertSampleRecord(record);
            Assert.Equal("wrapper-owner@contoso.example", record.Mailbox);
        }

        [Fact]
        public void JsonTextLinesAreSentAsText()
        {
            // Get-Content lines: strings with note properties (PSPath, ReadCount) attached.
            PSObject line = PowerShellHost.One(@"
                $path = Join-Path ([IO.Path]::GetTempPath()) ('maf-line-' + [guid]::NewGuid() + '.jsonl')
                Set-Content -LiteralPath $path -Value $json -Encoding utf8
                try { Get-Content -LiteralPath $path } finally { Remove-Item -LiteralPath $path }",
                "json", Samples.AuditDataJson());
            Assert.NotNull(line.Properties["PSPath"]);

            IngestOutcome outcome = NativeEngine.Ingest(line, Samples.AuditDataJson("second-id"));

            Assert.Equal(5, outcome.Bytes[0]);
            Assert.Empty(outcome.Result.Failures);
            AssertSampleRecord(outcome.Record(0));
            AssertSampleRecord(outcome.Record(1), "second-id");
        }

        // ---- the full walk ------------------------------------------------------------------

        [Fact]
        public void SentinelOfficeActivityRowIsWalkedPropertyByProperty()
        {
            // An OfficeActivity row as Az.OperationalInsights returns it: no AuditData, Sentinel's
            // own column names, nested JSON kept as text, a typed TimeGenerated.
            PSObject row = PowerShellHost.One(@"
                [pscustomobject]@{
                    TenantId = '00000000-0000-0000-0000-000000000000'
                    RecordType = 50
                    TimeGenerated = [datetime]::SpecifyKind([datetime]'2021-08-02T13:32:07.25', 'Utc')
                    Operation = 'MailItemsAccessed'
                    UserType = 'Regular'
                    UserKey = '100320015858B802'
                    OfficeWorkload = 'Exchange'
                    ResultStatus = 'Succeeded'
                    UserId = 'pgustavo@simulandlabs.com'
                    ExternalAccess = 'False'
                    OriginatingServer = ""AB1CD23EF4567 (15.20.4200.000)`r`n""
                    Logon_Type = 'Owner'
                    MailboxGuid = 'd0c5f8ae-9ed7-4e46-bfdf-ea1460f5a31b'
                    MailboxOwnerUPN = 'pgustavo@simulandlabs.com'
                    ClientInfoString = 'Client=REST;;'
                    Client_IPAddress = '::ffff:1.2.3.4'
                    Folders = '[{""FolderItems"":[{""InternetMessageId"":""<a@contoso.example>""},{""InternetMessageId"":""<b@contoso.example>""}],""Id"":""LgAA"",""Path"":""\\Inbox""}]'
                    OfficeId = '699e0b10-1c53-403e-976f-ce0847a92b44'
                    OperationProperties = '[{""Name"":""MailAccessType"",""Value"":""Bind""},{""Name"":""IsThrottled"",""Value"":""False""}]'
                    AppId = '00000003-0000-0000-c000-000000000000'
                    ClientAppId = '5a95e683-08ad-424e-a441-1d1aec52c02c'
                    SourceSystem = 'OfficeActivityManager'
                    Type = 'OfficeActivity'
                    IsCloned = $false
                    Score = 0.5
                }");

            IngestOutcome outcome = NativeEngine.Ingest(row);

            Assert.Equal(8, outcome.Bytes[0]);
            Assert.Empty(outcome.Result.Failures);
            MailAccessRecord r = outcome.Record(0);
            Assert.Equal("699e0b10-1c53-403e-976f-ce0847a92b44", r.RecordId);
            Assert.Equal(new DateTime(2021, 8, 2, 13, 32, 7, 250, DateTimeKind.Utc), r.CreationTime);
            Assert.Equal("pgustavo@simulandlabs.com", r.Mailbox);
            Assert.Equal("pgustavo@simulandlabs.com", r.UserId);
            Assert.Equal("Regular", r.UserType);
            Assert.Equal("Owner", r.LogonType);
            Assert.Equal("1.2.3.4", r.ClientIPAddress);
            Assert.Equal("::ffff:1.2.3.4", r.ClientIPAddressOriginal);
            Assert.Null(r.ClientPort);
            Assert.False(r.ExternalAccess);
            Assert.Equal(MailAccessType.Bind, r.AccessType);
            Assert.False(r.IsThrottled);
            Assert.Equal("AB1CD23EF4567 (15.20.4200.000)", r.OriginatingServer);
            Assert.Equal(new[] { "\\Inbox" }, r.Folders);
            Assert.Equal(new[] { "<a@contoso.example>", "<b@contoso.example>" }, r.Items.Select(i => i.InternetMessageId));
            Assert.Null(r.OperationCount);
            Assert.False(r.IsDegraded, r.DegradedReason);
            Assert.Equal("pipeline object 1", r.Source);
        }

        private const string GraphRecordScript = @"
            {0}@{{
                id = 'graph-1'
                createdDateTime = '2024-03-01T12:34:56Z'
                auditLogRecordType = 'exchangeItemAggregated'
                operation = 'MailItemsAccessed'
                userPrincipalName = 'bob@contoso.example'
                userId = '10032000A1B2C3D5'
                clientIp = '192.0.2.10'
                service = 'Exchange'
                auditData = {0}@{{
                    '@odata.type' = '#microsoft.graph.security.exchangeAuditRecord'
                    MailboxOwnerUPN = 'carol@contoso.example'
                    LogonType = 2
                    ExternalAccess = $true
                    OperationCount = 4
                    OperationProperties = @({0}@{{ Name = 'MailAccessType'; Value = 'Sync' }}, {0}@{{ Name = 'IsThrottled'; Value = 'True' }})
                    Folders = @({0}@{{ Id = 'LgAB'; Path = '\Archive' }})
                }}
            }}";

        private static void AssertGraphRecord(IngestOutcome outcome)
        {
            Assert.True(outcome.Result.Failures.Count == 0, outcome.Describe());
            MailAccessRecord r = outcome.Record(0);
            Assert.Equal("graph-1", r.RecordId);
            Assert.Equal(Samples.Time, r.CreationTime);
            Assert.Equal("bob@contoso.example", r.UserId);
            Assert.Equal("carol@contoso.example", r.Mailbox);
            Assert.Equal("192.0.2.10", r.ClientIPAddress);
            Assert.Equal("Delegated", r.LogonType);
            Assert.True(r.ExternalAccess);
            Assert.Equal(4, r.OperationCount);
            Assert.Equal(MailAccessType.Sync, r.AccessType);
            Assert.True(r.IsThrottled);
            Assert.Equal(new[] { "\\Archive" }, r.Folders);
            Assert.Empty(r.Items);
        }

        [Fact]
        public void HashtableIsSentAsAMap()
        {
            PSObject record = PowerShellHost.One(string.Format(GraphRecordScript, ""));
            Assert.IsType<Hashtable>(record.BaseObject);
            AssertGraphRecord(NativeEngine.Ingest(record));
        }

        [Fact]
        public void OrderedDictionaryIsSentAsAMap()
        {
            PSObject record = PowerShellHost.One(string.Format(GraphRecordScript, "[ordered]"));
            Assert.IsType<OrderedDictionary>(record.BaseObject);
            IngestOutcome outcome = NativeEngine.Ingest(record);
            AssertGraphRecord(outcome);
            // Keys in the dictionary's order: id first.
            Assert.Equal(8, outcome.Bytes[0]);
            Assert.Equal("id", Encoding.UTF8.GetString(outcome.Bytes, 9, 2));
        }

        [Fact]
        public void GenericDictionaryIsSentAsAMap()
        {
            var auditData = new Dictionary<string, object>
            {
                ["MailboxOwnerUPN"] = "carol@contoso.example",
                ["LogonType"] = 2L,
                ["ExternalAccess"] = true,
                ["OperationCount"] = 4.0,
                ["OperationProperties"] = new List<Dictionary<string, object>>
                {
                    new Dictionary<string, object> { ["Name"] = "MailAccessType", ["Value"] = "Sync" },
                    new Dictionary<string, object> { ["Name"] = "IsThrottled", ["Value"] = "True" },
                },
                ["Folders"] = new[] { new Dictionary<string, object> { ["Id"] = "LgAB", ["Path"] = "\\Archive" } },
            };
            var record = new Dictionary<string, object>
            {
                ["id"] = "graph-1",
                ["createdDateTime"] = new DateTimeOffset(Samples.Time),
                ["operation"] = "MailItemsAccessed",
                ["userPrincipalName"] = "bob@contoso.example",
                ["clientIp"] = "192.0.2.10",
                ["auditData"] = auditData,
            };
            AssertGraphRecord(NativeEngine.Ingest(Wrap(record)));
        }

        [Fact]
        public void NestedListsOfEveryKindAreSentAsLists()
        {
            PSObject record = PowerShellHost.One(@"
                $items = [System.Collections.Generic.List[object]]::new()
                $items.Add([pscustomobject]@{ InternetMessageId = '<m1@contoso.example>'; SizeInBytes = 100 })
                $items.Add(@{ InternetMessageId = '<m2@contoso.example>' })
                $more = [System.Collections.ArrayList]::new()
                [void]$more.Add([pscustomobject]@{ InternetMessageId = '<m3@contoso.example>'; SizeInBytes = [long]7 })
                $properties = [System.Collections.ObjectModel.Collection[psobject]]::new()
                $properties.Add([pscustomobject]@{ Name = 'MailAccessType'; Value = 'Bind' })
                [pscustomobject]@{
                    Id = 'nested-1'
                    CreationTime = '2024-03-01T12:34:56Z'
                    Operation = 'MailItemsAccessed'
                    OperationProperties = $properties
                    Folders = @(
                        [pscustomobject]@{ Path = '\Inbox'; FolderItems = $items },
                        [pscustomobject]@{ Path = '\Archive'; FolderItems = $more }
                    )
                    Jagged = @(@(1, 2), @(@(3), @()), [int[]](4, 5))
                }");

            IngestOutcome outcome = NativeEngine.Ingest(record);

            Assert.True(outcome.Result.Failures.Count == 0, outcome.Describe());
            MailAccessRecord r = outcome.Record(0);
            Assert.Equal(MailAccessType.Bind, r.AccessType);
            Assert.Equal(new[] { "\\Inbox", "\\Archive" }, r.Folders);
            Assert.Equal(
                new[] { "<m1@contoso.example> \\Inbox 100", "<m2@contoso.example> \\Inbox ", "<m3@contoso.example> \\Archive 7" },
                r.Items.Select(i => $"{i.InternetMessageId} {i.FolderPath} {i.SizeInBytes}"));
            Assert.False(r.IsDegraded, r.DegradedReason);
        }

        // ---- dates --------------------------------------------------------------------------

        private static OrderedDictionary WithTime(string id, object creationTime) => new OrderedDictionary
        {
            ["Id"] = id,
            ["Operation"] = "MailItemsAccessed",
            ["CreationTime"] = creationTime,
        };

        [Fact]
        public void LocalDatesAreConvertedToUtcAndUnspecifiedOnesKept()
        {
            const long fraction = 1234567;
            DateTime utc = Samples.Time.AddTicks(fraction);
            DateTime local = utc.ToLocalTime();
            TimeSpan offset = TimeZoneInfo.Local.GetUtcOffset(local);
            Assert.True(offset != TimeSpan.Zero,
                $"the local time zone ({TimeZoneInfo.Local.Id}) must not be UTC for this test to mean anything; " +
                $"the test assembly sets TZ={TestEnvironment.LocalTimeZone} (is tzdata installed?)");
            Assert.Equal(DateTimeKind.Local, local.Kind);
            Assert.NotEqual(utc.Ticks, local.Ticks);
            var unspecified = new DateTime(utc.Ticks, DateTimeKind.Unspecified);
            var offsetTime = new DateTimeOffset(utc.Ticks, TimeSpan.Zero).ToOffset(TimeSpan.FromHours(-7));

            IngestOutcome outcome = NativeEngine.Ingest(
                Wrap(WithTime("local", local)),
                Wrap(WithTime("unspecified", unspecified)),
                Wrap(WithTime("utc", utc)),
                Wrap(WithTime("offset", offsetTime)));

            Assert.True(outcome.Result.Failures.Count == 0, outcome.Describe());
            foreach (int index in new[] { 0, 1, 2, 3 })
            {
                MailAccessRecord r = outcome.Record(index);
                Assert.True(utc == r.CreationTime, $"{r.RecordId}: {r.CreationTime:o}, expected {utc:o}");
                Assert.Equal(DateTimeKind.Utc, r.CreationTime.Kind);
            }
        }

        [Fact]
        public void DateTimeOffsetIsSentAsItsUtcInstant()
        {
            var time = new DateTimeOffset(2024, 3, 1, 18, 4, 56, TimeSpan.FromHours(5.5));
            IngestOutcome outcome = NativeEngine.Ingest(Wrap(WithTime("offset", Wrap(time))));

            Assert.Equal(6, outcome.Bytes[outcome.Bytes.Length - 9]); // the last value is a date-time node
            Assert.Equal(Samples.Time.Ticks, BitConverter.ToInt64(outcome.Bytes, outcome.Bytes.Length - 8));
            Assert.Equal(Samples.Time, outcome.Record(0).CreationTime);
        }

        // ---- values the shim cannot read ----------------------------------------------------

        [Fact]
        public void LoneSurrogateFailsItsRecordOnly()
        {
            PSObject bad = PowerShellHost.One(@"
                [pscustomobject]@{
                    Id = 'surrogate-1'
                    CreationTime = '2024-03-01T12:34:56Z'
                    Operation = 'MailItemsAccessed'
                    ClientInfoString = 'Client=OWA' + [char]0xD800 + ';Action=ViaProxy'
                }");
            PSObject badAuditData = PowerShellHost.One("[pscustomobject]@{ AuditData = $json }",
                "json", Samples.AuditDataJson("surrogate-2", "Client=" + '\uDC00'));
            PSObject harmless = PowerShellHost.One(@"
                [pscustomobject]@{
                    Id = 'harmless-1'
                    CreationTime = '2024-03-01T12:34:56Z'
                    Operation = 'MailItemsAccessed'
                    Comment = 'unused ' + [char]0xDBFF
                }");

            IngestOutcome outcome = NativeEngine.Ingest(
                Samples.AuditDataJson("good-1"),
                bad,
                Samples.AuditDataJson("good-2"),
                badAuditData,
                Wrap("{\"Operation\":\"MailItemsAccessed\",\"Id\":\"x\uD83D\"}"),
                harmless);

            Assert.True(outcome.Result.Records.Count == 3, outcome.Describe());
            Assert.Equal("good-1", outcome.Record(0).RecordId);
            Assert.Equal("good-2", outcome.Record(2).RecordId);
            Assert.Equal("harmless-1", outcome.Record(5).RecordId);
            foreach ((int index, string where) in new[] { (1, "ClientInfoString"), (3, "AuditData"), (4, "the object") })
            {
                RecordFailure failure = outcome.Failure(index);
                Assert.Equal("InvalidEncoding", failure.KindName);
                Assert.Contains("unpaired surrogate", failure.Message);
                Assert.Contains(where, failure.Message);
            }
            Assert.Equal(3, outcome.Result.Failures.Count);
            Assert.Equal(6, outcome.Summary.Read);
            Assert.Equal(3, outcome.Summary.Errors);
            Assert.True(outcome.Summary.IsBalanced, outcome.Summary.ToString());
        }

        /// <summary>
        /// A record whose AuditData is a chain of maps, each the AuditData of the one before,
        /// the innermost holding an Operation at depth <paramref name="valueDepth"/> (the
        /// top-level map is depth 0). The engine reads the whole chain; the record's own fields
        /// are on the top-level map.
        /// </summary>
        private static Hashtable AuditDataChain(string id, int valueDepth)
        {
            var current = new Hashtable { ["Operation"] = "MailItemsAccessed" };
            for (int depth = valueDepth - 1; depth > 1; depth--)
            {
                current = new Hashtable { ["AuditData"] = current };
            }
            return new Hashtable
            {
                ["Id"] = id,
                ["Operation"] = "MailItemsAccessed",
                ["CreationTime"] = "2024-03-01T12:34:56Z",
                ["AuditData"] = current,
            };
        }

        [Fact]
        public void ValuesDeeperThanTheLimitAreUnreadable()
        {
            int limit = ObjectBatchEncoder.MaxDepth;
            var cyclic = new Hashtable
            {
                ["Id"] = "cyclic-used",
                ["Operation"] = "MailItemsAccessed",
                ["CreationTime"] = "2024-03-01T12:34:56Z",
            };
            cyclic["AuditData"] = cyclic;
            var cyclicUnused = new Hashtable
            {
                ["Id"] = "cyclic-unused",
                ["Operation"] = "MailItemsAccessed",
                ["CreationTime"] = "2024-03-01T12:34:56Z",
            };
            cyclicUnused["Parent"] = cyclicUnused;

            IngestOutcome outcome = NativeEngine.Ingest(
                Wrap(AuditDataChain("at-the-limit", limit)),
                Wrap(AuditDataChain("past-the-limit", limit + 1)),
                Wrap(cyclic),
                Wrap(cyclicUnused));

            Assert.True(outcome.Result.Failures.Count == 3, outcome.Describe());
            Assert.Equal("at-the-limit", outcome.Record(0).RecordId);
            // Past the limit, a cycle too, even in a field the engine does not use: the same
            // record as JSON text nests too deep to be read from a file.
            foreach (int index in new[] { 1, 2, 3 })
            {
                RecordFailure failure = outcome.Failure(index);
                Assert.Equal("TooDeep", failure.KindName);
                Assert.Contains("more than 128 levels deep", failure.Message);
            }
        }

        [Fact]
        public void AnObjectGraphThatFansOutIsOneErrorNotAHang()
        {
            // Two references to itself: walked to the depth limit, 2^128 values.
            var fan = new Hashtable { ["Operation"] = "MailItemsAccessed", ["CreationTime"] = "2024-03-01T12:34:56Z" };
            fan["A"] = fan;
            fan["B"] = fan;
            var watch = System.Diagnostics.Stopwatch.StartNew();
            IngestOutcome outcome = NativeEngine.Ingest(Wrap(fan), Wrap(AuditDataChain("after", 3)));
            Assert.True(outcome.Result.Failures.Count == 1, outcome.Describe());
            RecordFailure failure = outcome.Failure(0);
            Assert.Equal("TooLarge", failure.KindName);
            Assert.Contains("holds more than 4,000,000 values", failure.Message);
            Assert.Equal("after", outcome.Record(1).RecordId);
            Assert.True(watch.Elapsed < TimeSpan.FromMinutes(2), watch.Elapsed.ToString());
        }

        public sealed class ExportedRecord
        {
            public string Id => "exported-1";
            public string Operation => "MailItemsAccessed";
            public string CreationTime => "2024-03-01T12:34:56Z";
            public string Notes => throw new InvalidOperationException("notes are not loaded");
        }

        public sealed class BrokenExport
        {
            public string Id => "broken-1";
            public string Operation => "MailItemsAccessed";
            public string CreationTime => "2024-03-01T12:34:56Z";
            public string ClientIP => throw new InvalidOperationException("the export lost the address");
        }

        [Fact]
        public void PropertyWhoseGetterThrowsIsUnreadable()
        {
            PSObject scripted = PowerShellHost.One(@"
                [pscustomobject]@{
                    Id = 'scripted-1'
                    CreationTime = '2024-03-01T12:34:56Z'
                    Operation = 'MailItemsAccessed'
                } | Add-Member -MemberType ScriptProperty -Name ClientIPAddress -Value { throw 'address lookup failed' } -PassThru");
            PSObject scriptedUnused = PowerShellHost.One(@"
                [pscustomobject]@{
                    Id = 'scripted-2'
                    CreationTime = '2024-03-01T12:34:56Z'
                    Operation = 'MailItemsAccessed'
                } | Add-Member -MemberType ScriptProperty -Name Extra -Value { throw 'not needed' } -PassThru");

            IngestOutcome outcome = NativeEngine.Ingest(
                scripted,
                scriptedUnused,
                new BrokenExport(),
                Wrap(new ExportedRecord()));

            RecordFailure failure = outcome.Failure(0);
            Assert.Equal("InvalidValue", failure.KindName);
            Assert.Contains("property ClientIPAddress could not be read", failure.Message);
            Assert.Contains("address lookup failed", failure.Message);
            Assert.Equal("scripted-2", outcome.Record(1).RecordId);
            failure = outcome.Failure(2);
            Assert.Contains("property ClientIP could not be read", failure.Message);
            Assert.Contains("the export lost the address", failure.Message);
            Assert.Equal("exported-1", outcome.Record(3).RecordId);
        }

        [Fact]
        public void TheKindOfAnUnreadableValueComesFromItsCodeNotItsWords()
        {
            // The engine once read the kind from these words: a getter that says them must not
            // make its record an encoding, depth or size error.
            PSObject scripted = PowerShellHost.One(@"
                [pscustomobject]@{
                    Id = 'scripted-words'
                    CreationTime = '2024-03-01T12:34:56Z'
                    Operation = 'MailItemsAccessed'
                } | Add-Member -MemberType ScriptProperty -Name ClientIPAddress -Value { throw 'invalid UTF-16, nested deeper, larger than' } -PassThru");

            IngestOutcome outcome = NativeEngine.Ingest(scripted);

            RecordFailure failure = outcome.Failure(0);
            Assert.Equal("InvalidValue", failure.KindName);
            Assert.Contains("invalid UTF-16, nested deeper, larger than", failure.Message);
        }

        private sealed class ThrowingSequence : IEnumerable
        {
            public IEnumerator GetEnumerator()
            {
                yield return "first";
                throw new InvalidOperationException("the lazy sequence broke");
            }
        }

        private sealed class ThrowingToString
        {
            public override string ToString() => throw new InvalidOperationException("no text for you");
        }

        [Fact]
        public void ValueWhoseEnumeratorOrToStringThrowsIsUnreadableAndTheBatchStaysWhole()
        {
            // Before the rewind, a throwing enumerator escaped AddObject and left a half-written
            // node: the whole batch was then refused as malformed.
            var broken = new Hashtable
            {
                ["Id"] = "broken-1",
                ["CreationTime"] = "2024-03-01T12:34:56Z",
                ["Operation"] = "MailItemsAccessed",
                ["Folders"] = new ThrowingSequence(),
            };
            var unused = new Hashtable
            {
                ["Id"] = "unused-1",
                ["CreationTime"] = "2024-03-01T12:34:56Z",
                ["Operation"] = "MailItemsAccessed",
                ["Extra"] = new object[] { new ThrowingToString() },
            };

            IngestOutcome outcome = NativeEngine.Ingest(Wrap(broken), Wrap(unused), Samples.AuditDataJson("after"));

            RecordFailure failure = outcome.Failure(0);
            Assert.Contains("Folders could not be read", failure.Message);
            Assert.Contains("the lazy sequence broke", failure.Message);
            // A broken value the record does not use costs nothing.
            Assert.Equal("unused-1", outcome.Record(1).RecordId);
            Assert.Equal("after", outcome.Record(2).RecordId);
            Assert.Equal(3, outcome.Summary.Read);
        }

        private sealed class NullToString
        {
            public override string? ToString() => null;
        }

        [Fact]
        public void ValueWhoseToStringIsNullIsSentAsNull()
        {
            // Once a NullReferenceException in the encoder, which ended the command.
            var record = new Hashtable
            {
                ["Id"] = "null-text-1",
                ["CreationTime"] = "2024-03-01T12:34:56Z",
                ["Operation"] = "MailItemsAccessed",
                ["MailboxOwnerUPN"] = new NullToString(),
            };

            IngestOutcome outcome = NativeEngine.Ingest(Wrap(record), Samples.AuditDataJson("after"));

            Assert.Equal("null-text-1", outcome.Record(0).RecordId);
            Assert.Null(outcome.Record(0).Mailbox);
            Assert.Equal("after", outcome.Record(1).RecordId);
        }

        [Fact]
        public void GenericOnlyDictionaryIsSentAsAMap()
        {
            dynamic expando = new System.Dynamic.ExpandoObject();
            expando.Id = "expando-1";
            expando.CreationTime = "2024-03-01T12:34:56Z";
            expando.Operation = "MailItemsAccessed";
            expando.MailboxOwnerUPN = "alice@contoso.example";

            IngestOutcome outcome = NativeEngine.Ingest(Wrap((object)expando));

            Assert.Equal(8, outcome.Bytes[0]);
            MailAccessRecord record = outcome.Record(0);
            Assert.Equal("expando-1", record.RecordId);
            Assert.Equal("alice@contoso.example", record.Mailbox);
        }

        [Fact]
        public void EnumerableAtTopLevelIsOneListNotItsElements()
        {
            // -InputObject @($a, $b) binds the array as one object; the pipeline would unroll it.
            PSObject array = PowerShellHost.One(",@($a, $b)", "a", Samples.AuditDataJson("in-array-1"), "b", Samples.AuditDataJson("in-array-2"));
            Assert.IsType<object[]>(array.BaseObject);
            var list = new List<string> { Samples.AuditDataJson("in-list") };

            IngestOutcome outcome = NativeEngine.Ingest(array, Wrap(list), Samples.AuditDataJson("after"));

            Assert.Equal(7, outcome.Bytes[0]);
            foreach (int index in new[] { 0, 1 })
            {
                RecordFailure failure = outcome.Failure(index);
                Assert.Equal("NotAnAuditRecord", failure.KindName);
                Assert.Contains("a list is not an audit record", failure.Message);
            }
            Assert.Equal("after", outcome.Record(2).RecordId);
            Assert.Single(outcome.Result.Records);
        }

        // ---- the module's own records ------------------------------------------------------

        /// <summary>Every public property of a record as text, nested parts included.</summary>
        private static string Describe(MailAccessRecord record)
        {
            string Value(object? value)
            {
                switch (value)
                {
                    case null: return "<null>";
                    case DateTime time: return time.Kind + ":" + time.Ticks;
                    case string text: return text;
                    case IEnumerable list:
                        return "[" + string.Join(", ", list.Cast<object>().Select(item => item is string text
                            ? text
                            : string.Join("/", item.GetType().GetProperties().Select(p => Value(p.GetValue(item)))))) + "]";
                    default: return value.ToString() ?? "<null>";
                }
            }
            return string.Join("; ", typeof(MailAccessRecord).GetProperties().Select(p => p.Name + "=" + Value(p.GetValue(record))));
        }

        [Fact]
        public void TheModulesOwnRecordComesBackAsItWasWithItsSource()
        {
            // A record with a token, a degraded one whose items were lost, and a Sync: read once,
            // then sent back as the MailAccessRecord objects the module wrote.
            string token = Samples.AuditDataJson("with-token").Replace("\"CreationTime\"",
                "\"AppAccessContext\":{\"AADSessionId\":\"E1\",\"IssuedAtTime\":\"2024-03-01T12:00:00\",\"UniqueTokenId\":\"tok\"},\"CreationTime\"");
            string degraded = Samples.AuditDataJson("degraded").Replace(
                "[{\"FolderItems\":[{\"InternetMessageId\":\"<one@contoso.example>\",\"SizeInBytes\":1234},{\"InternetMessageId\":\"<two@contoso.example>\",\"SizeInBytes\":99}],\"Id\":\"LgAAAAAM\",\"Path\":\"\\\\Inbox\"}]",
                "[\"@{Id=LgAAAAAM; Path=\\\\Inbox; FolderItems=System.Object[]}\"]");
            string sync = Samples.AuditDataJson("sync").Replace("\"Value\":\"Bind\"", "\"Value\":\"Sync\"");
            IngestOutcome first = NativeEngine.Ingest(token, degraded, sync);
            Assert.Empty(first.Result.Failures);
            MailAccessRecord[] records = { first.Record(0), first.Record(1), first.Record(2) };
            Assert.Equal("tok", records[0].UniqueTokenId);
            Assert.True(records[1].IsDegraded);
            Assert.Equal(MailAccessType.Sync, records[2].AccessType);

            // Sent as the records, and as Import-Clixml gives them back (property bags, enums as numbers).
            PSObject[] deserialized = records
                .Select(r => (PSObject)PSSerializer.Deserialize(PSSerializer.Serialize(r, 3)))
                .ToArray();
            Assert.Equal("Deserialized.MailAccessForensics.MailAccessRecord", deserialized[0].TypeNames[0]);
            foreach (object[] inputs in new[] { records.Cast<object>().ToArray(), deserialized.Cast<object>().ToArray() })
            {
                IngestOutcome again = NativeEngine.Ingest(inputs.Select(Wrap).Cast<object>().ToArray());
                Assert.Empty(again.Result.Failures);
                byte[] key = Encoding.UTF8.GetBytes(ObjectBatchEncoder.ModuleRecordType);
                Assert.Equal(new byte[] { 8, 1, 0, 0, 0 }.Concat(BitConverter.GetBytes(key.Length)).Concat(key), again.Bytes.Take(9 + key.Length));
                for (int i = 0; i < records.Length; i++)
                {
                    MailAccessRecord copy = again.Record(i);
                    // Where the copy was read differs (its position in this batch); the rest, and
                    // the Source it was first read with, do not.
                    Assert.Equal(Describe(records[i]), Describe(copy));
                    Assert.Equal("pipeline object " + (i + 1), copy.Source);
                }
            }
        }

        // ---- the buffer ---------------------------------------------------------------------

        [Fact]
        public void BufferGrowsPastItsInitialCapacityAndClearStartsOver()
        {
            string big = Samples.AuditDataJson("big", "Client=" + new string('x', 200_000));
            var encoder = new ObjectBatchEncoder(16);
            encoder.AddObject(Wrap(big));
            encoder.AddObject(Wrap(Samples.AuditDataJson("small")));
            Assert.True(encoder.Buffer.Length > 200_000, "the buffer grew past its initial 16 bytes to hold the big object");

            IngestOutcome outcome = NativeEngine.Ingest(encoder);
            Assert.Equal(200_007, outcome.Record(0).ClientInfoString?.Length);
            Assert.Equal("small", outcome.Record(1).RecordId);

            encoder.Clear();
            Assert.Equal(0, encoder.Count);
            Assert.Equal(0, encoder.Length);
            encoder.AddObject(Wrap(Samples.AuditDataJson("again")));
            outcome = NativeEngine.Ingest(encoder);
            Assert.Single(outcome.Result.Records);
            Assert.Equal("again", outcome.Record(0).RecordId);
        }
    }
}
