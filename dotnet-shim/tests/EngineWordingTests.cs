using System;
using MailAccessForensics.Native;
using Xunit;

namespace MailAccessForensics.Tests
{
    /// <summary>
    /// The words of the engine's messages are those users saw when the engine wrote them
    /// (before issue 16 moved them here): each expected sentence is the engine's old format
    /// string with these values. Get-CompromisedMailAccess.Tests.ps1 checks real runs.
    /// </summary>
    public class EngineWordingTests
    {
        private static EngineMessage M(MessageCode code, params string?[] values) => new EngineMessage(code, values, Array.Empty<EngineMessage>());

        private static EngineMessage P(MessageCode code, string?[] values, params EngineMessage[] phrases) => new EngineMessage(code, values, phrases);

        private static readonly string?[] None = Array.Empty<string?>();

        [Fact]
        public void IndicatorsAreNamedByTheirParameters()
        {
            Assert.Equal("-AttackerIPAddress 10.9.0.0/16 matched no record in the period.", EngineWording.Word(P(MessageCode.IndicatorMatchedNothing, None, M(MessageCode.IndicatorIpAddress, "10.9.0.0/16"))));
            Assert.Equal("-AttackerSessionId s-1 matched no record in the period.", EngineWording.Word(P(MessageCode.IndicatorMatchedNothing, None, M(MessageCode.IndicatorSessionId, "s-1"))));
            Assert.Equal("-AttackerClientInfoString '*IMAP*' matched no record in the period.", EngineWording.Word(P(MessageCode.IndicatorMatchedNothing, None, M(MessageCode.IndicatorClientInfoString, "*IMAP*"))));
            Assert.Equal("-AttackerAppId app matched no record in the period.", EngineWording.Word(P(MessageCode.IndicatorMatchedNothing, None, M(MessageCode.IndicatorAppId, "app"))));
            Assert.Equal("-AttackerAadSessionId e-1 matched no record in the period.", EngineWording.Word(P(MessageCode.IndicatorMatchedNothing, None, M(MessageCode.IndicatorAadSessionId, "e-1"))));
            Assert.Equal(
                "No attacker indicator was given (-AttackerIPAddress, -AttackerSessionId, -AttackerClientInfoString, -AttackerAppId, -AttackerAadSessionId): only throttled windows are reported; access cannot be attributed.",
                EngineWording.Word(M(MessageCode.NoIndicator)));
            Assert.Equal(
                "Without -BaselineEndDate the NewInPeriod and NewSync signals cannot fire: give the end of a period of normal activity.",
                EngineWording.Word(M(MessageCode.NoBaselineEnd)));
        }

        [Fact]
        public void WarningsWithoutParametersKeepTheirWords()
        {
            Assert.Equal(
                "Mailbox (no mailbox): none of its 4 records says whether it was throttled (IsThrottled is absent); throttling there is unknown, not absent.",
                EngineWording.Word(M(MessageCode.ThrottlingUnknownInAll, null, "4")));
            Assert.Equal(
                "Mailbox a@x: 1 of its 40 records do not say whether they were throttled (IsThrottled is absent); throttling in their time is unknown, not absent.",
                EngineWording.Word(M(MessageCode.ThrottlingUnknownInSome, "a@x", "1", "40")));
            Assert.Equal(
                "The verdict could not read back its temporary file (disk full): the attacker's messages, folders and evidence may be incomplete; run it again with more free space in the temporary folder.",
                EngineWording.Word(M(MessageCode.DetailLogUnreadable, "disk full")));
            Assert.Equal(
                "The verdict could not use a temporary file (no space) and kept every record's details in memory instead; the verdict is complete.",
                EngineWording.Word(M(MessageCode.DetailLogInMemory, "no space")));
            Assert.Equal(
                "2 of the attacker's record(s) carry an address that is not a client's (::, ANONYMIZED): a placeholder (unspecified, loopback, link-local, broadcast, multicast) or not an IP address. Expansion never links through such an address; 9 record(s) of the period carry one.",
                EngineWording.Word(M(MessageCode.PlaceholderAddresses, "2", "9", "::", "ANONYMIZED")));
            Assert.Equal(
                "1 address(es) or session(s) of the attacker's records were in use before the attacker's known activity by other contexts and were not followed: see the SharedIndicator findings; -ExpandSharedIndicator follows them.",
                EngineWording.Word(P(MessageCode.SharedNotFollowed, new string?[] { "1" }, M(MessageCode.BaselineKnownActivity))));
        }

        [Fact]
        public void ReasonsSayWhatAbsentValuesMean()
        {
            Assert.Equal(
                "Folder (unnamed) was synced 2 time(s) in the attacker's context (from an unknown address): a synced folder can be read offline, unaudited; assume every message in it was read.",
                EngineWording.Word(M(MessageCode.SyncedFolderReason, null, "2")));
            Assert.Equal(
                "Message <m@x> was read in 3 record(s) in the attacker's context (from 192.0.2.1, 2001:db8::1), first at 2024-05-01T10:00:00Z.",
                EngineWording.Word(M(MessageCode.AccessedMessageReason, "<m@x>", "3", "2024-05-01T10:00:00Z", "192.0.2.1", "2001:db8::1")));
            Assert.Equal(
                "Record r1 read an unknown number of item(s) in an unnamed folder in the attacker's context, but the record lists no message ids: find the messages from the folder and time.",
                EngineWording.Word(M(MessageCode.UnresolvedAccessReason, "r1", null, null, null, null)));
            Assert.Equal(
                "Record r2 read 7 item(s) in \\Inbox in the attacker's context, but an earlier tool lost its message ids (FolderItems lost); 0 were recovered: find the messages from the folder and time.",
                EngineWording.Word(M(MessageCode.UnresolvedAccessReason, "r2", "7", "\\Inbox", "FolderItems lost", "0")));
            Assert.Equal(
                "IsThrottled was True in 1 record(s): access to this mailbox was not audited from 2024-05-03T00:00:00Z to 2024-05-04T00:00:00Z; assume all its mail was read in that window.",
                EngineWording.Word(M(MessageCode.ThrottledWindowReason, "1", "2024-05-03T00:00:00Z", "2024-05-04T00:00:00Z")));
        }

        [Fact]
        public void IndicatorReasonsNameWhyAndTheBaseline()
        {
            EngineMessage address = M(MessageCode.IdentifierAddress, "203.0.113.80");
            EngineMessage bySession = P(MessageCode.AttributedByLink, None, M(MessageCode.IdentifierSession, "s-att"));
            EngineMessage byClient = P(MessageCode.AttributedByIndicator, None, M(MessageCode.IndicatorClientInfoString, "*IMAP*"));
            EngineMessage baseline = M(MessageCode.BaselineStartDate, "2026-03-08T00:00:00Z");
            EngineMessage alice = M(MessageCode.ContextUse, "alice@x", "Client=OWA", "2026-03-02T08:01:10Z");
            EngineMessage unknown = M(MessageCode.ContextUse, null, null, "2026-03-02T08:05:00Z");
            Assert.Equal(
                "Entra session e-1 was given as an attacker indicator (e-1).",
                EngineWording.Word(P(MessageCode.GivenIndicatorReason, new string?[] { "e-1" }, M(MessageCode.IdentifierEntraSession, "e-1"))));
            Assert.Equal(
                "Address 203.0.113.80 is linked to the attacker by record a2 at 2024-05-02T11:00:00Z: its session s-att is the attacker's.",
                EngineWording.Word(P(MessageCode.LinkedIndicatorReason, new string?[] { "a2", "2024-05-02T11:00:00Z" }, address, bySession)));
            Assert.Equal(
                "Address 203.0.113.80 is linked to the attacker by record a2 at 2024-05-02T11:00:00Z: its client matches -AttackerClientInfoString '*IMAP*'. Before -StartDate (2026-03-08T00:00:00Z), 5 other context(s) used it too: alice@x (Client=OWA) first at 2026-03-02T08:01:10Z, an unknown account first at 2026-03-02T08:05:00Z, and 3 more. It may be shared; it was followed because -ExpandSharedIndicator was given.",
                EngineWording.Word(P(MessageCode.LinkedIndicatorReason, new string?[] { "a2", "2024-05-02T11:00:00Z", "5" }, address, byClient, baseline, alice, unknown, M(MessageCode.MoreContexts, "3"))));
            Assert.Equal(
                "Address 203.0.113.80 was not followed: before the first record that matches an indicator (2026-03-09T01:30:00Z), 1 other context(s) used it: alice@x (Client=OWA) first at 2026-03-02T08:01:10Z. It is shared (an office egress, a carrier NAT, a VPN, a reused session), so the 20 record(s) of the period that only it would link are not counted as the attacker's. Record r9 at 2026-03-09T12:00:00Z would have linked it (its address matches -AttackerIPAddress 198.51.100.66). -ExpandSharedIndicator follows it anyway.",
                EngineWording.Word(P(
                    MessageCode.SharedIndicatorReason,
                    new string?[] { "1", "20", "r9", "2026-03-09T12:00:00Z" },
                    address,
                    P(MessageCode.AttributedByIndicator, None, M(MessageCode.IndicatorIpAddress, "198.51.100.66")),
                    M(MessageCode.BaselineFirstIndicatorMatch, "2026-03-09T01:30:00Z"),
                    alice)));
            Assert.Equal("its application is -AttackerAppId app", EngineWording.Word(P(MessageCode.AttributedByIndicator, None, M(MessageCode.IndicatorAppId, "app"))));
            Assert.Equal("its session is -AttackerSessionId s", EngineWording.Word(P(MessageCode.AttributedByIndicator, None, M(MessageCode.IndicatorSessionId, "s"))));
            Assert.Equal("its Entra session is -AttackerAadSessionId e", EngineWording.Word(P(MessageCode.AttributedByIndicator, None, M(MessageCode.IndicatorAadSessionId, "e"))));
            Assert.Equal("its Entra session e is the attacker's", EngineWording.Word(P(MessageCode.AttributedByLink, None, M(MessageCode.IdentifierEntraSession, "e"))));
        }

        [Fact]
        public void EveryCodeHasItsWords()
        {
            // A code without a case falls back to its data: none may (the vocabulary and this
            // file change together).
            foreach (MessageCode code in Enum.GetValues(typeof(MessageCode)))
            {
                var values = new string?[] { "1", "2", "3", "4", "5" };
                var phrase = M(MessageCode.IdentifierAddress, "x");
                string words = EngineWording.Word(new EngineMessage(code, values, new[] { phrase, P(MessageCode.AttributedByLink, None, phrase), M(MessageCode.BaselineKnownActivity) }));
                Assert.False(words.StartsWith(code.ToString() + ":", StringComparison.Ordinal), $"{code} has no words");
            }
        }
    }
}
