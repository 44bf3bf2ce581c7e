using System;
using System.Collections.Generic;
using System.Linq;
using MailAccessForensics.Native;

namespace MailAccessForensics
{
    /// <summary>
    /// A warning, a finding's reason, or a phrase of one, as the engine says it: what it says
    /// (<see cref="MessageCode"/>), its values (invariant text, by position; null when absent)
    /// and its phrases (by position). rust/engine/src/analysis/message.rs writes them.
    /// </summary>
    internal sealed class EngineMessage
    {
        internal EngineMessage(MessageCode code, string?[] values, EngineMessage[] phrases)
        {
            Code = code;
            Values = values;
            Phrases = phrases;
        }

        internal MessageCode Code { get; }

        internal string?[] Values { get; }

        internal EngineMessage[] Phrases { get; }
    }

    /// <summary>
    /// The words of the engine's messages: the one place where the engine's data (which
    /// indicator, which baseline, why a context is the attacker's) becomes sentences naming the
    /// cmdlets' parameters.
    /// </summary>
    internal static class EngineWording
    {
        /// <summary>The sentence of a warning or a reason.</summary>
        internal static string Word(EngineMessage message)
        {
            string?[] v = message.Values;
            EngineMessage[] p = message.Phrases;
            switch (message.Code)
            {
                case MessageCode.ThrottlingUnknownInAll:
                    return $"Mailbox {v[0] ?? "(no mailbox)"}: none of its {v[1]} records says whether it was throttled (IsThrottled is absent); throttling there is unknown, not absent.";
                case MessageCode.ThrottlingUnknownInSome:
                    return $"Mailbox {v[0] ?? "(no mailbox)"}: {v[1]} of its {v[2]} records do not say whether they were throttled (IsThrottled is absent); throttling in their time is unknown, not absent.";
                case MessageCode.NoBaselineEnd:
                    return "Without -BaselineEndDate the NewInPeriod and NewSync signals cannot fire: give the end of a period of normal activity.";
                case MessageCode.NoIndicator:
                    return "No attacker indicator was given (-AttackerIPAddress, -AttackerSessionId, -AttackerClientInfoString, -AttackerAppId, -AttackerAadSessionId): only throttled windows are reported; access cannot be attributed.";
                case MessageCode.IndicatorMatchedNothing:
                    return $"{Word(p[0])} matched no record in the period.";
                case MessageCode.PlaceholderAddresses:
                    return $"{v[0]} of the attacker's record(s) carry an address that is not a client's ({string.Join(", ", v.Skip(2))}): a placeholder (unspecified, loopback, link-local, broadcast, multicast) or not an IP address. Expansion never links through such an address; {v[1]} record(s) of the period carry one.";
                case MessageCode.SharedNotFollowed:
                    return $"{v[0]} address(es) or session(s) of the attacker's records were in use {Word(p[0])} by other contexts and were not followed: see the SharedIndicator findings; -ExpandSharedIndicator follows them.";
                case MessageCode.DetailLogUnreadable:
                    return $"The verdict could not read back its temporary file ({v[0]}): the attacker's messages, folders and evidence may be incomplete; run it again with more free space in the temporary folder.";
                case MessageCode.DetailLogInMemory:
                    return $"The verdict could not use a temporary file ({v[0]}) and kept every record's details in memory instead; the verdict is complete.";
                case MessageCode.ThrottledWindowReason:
                    return $"IsThrottled was True in {v[0]} record(s): access to this mailbox was not audited from {v[1]} to {v[2]}; assume all its mail was read in that window.";
                case MessageCode.SyncedFolderReason:
                    return $"Folder {v[0] ?? "(unnamed)"} was synced {v[1]} time(s) in the attacker's context (from {AddressesOrUnknown(v.Skip(2))}): a synced folder can be read offline, unaudited; assume every message in it was read.";
                case MessageCode.AccessedMessageReason:
                    return $"Message {v[0]} was read in {v[1]} record(s) in the attacker's context (from {AddressesOrUnknown(v.Skip(3))}), first at {v[2]}.";
                case MessageCode.UnresolvedAccessReason:
                    {
                        string why = v[3] != null ? $"an earlier tool lost its message ids ({v[3]}); {v[4]} were recovered" : "the record lists no message ids";
                        return $"Record {v[0]} read {v[1] ?? "an unknown number of"} item(s) in {v[2] ?? "an unnamed folder"} in the attacker's context, but {why}: find the messages from the folder and time.";
                    }
                case MessageCode.GivenIndicatorReason:
                    return $"{Word(p[0])} was given as an attacker indicator ({v[0]}).";
                case MessageCode.LinkedIndicatorReason:
                    {
                        string reason = $"{Word(p[0])} is linked to the attacker by record {v[0]} at {v[1]}: {Word(p[1])}.";
                        if (p.Length > 2)
                        {
                            reason += $" {Capitalised(Word(p[2]))}, {v[2]} other context(s) used it too: {Uses(p.Skip(3))}. It may be shared; it was followed because -ExpandSharedIndicator was given.";
                        }
                        return reason;
                    }
                case MessageCode.SharedIndicatorReason:
                    return $"{Word(p[0])} was not followed: {Word(p[2])}, {v[0]} other context(s) used it: {Uses(p.Skip(3))}. It is shared (an office egress, a carrier NAT, a VPN, a reused session), so the {v[1]} record(s) of the period that only it would link are not counted as the attacker's. Record {v[2]} at {v[3]} would have linked it ({Word(p[1])}). -ExpandSharedIndicator follows it anyway.";
                case MessageCode.IndicatorIpAddress:
                    return $"-AttackerIPAddress {v[0]}";
                case MessageCode.IndicatorSessionId:
                    return $"-AttackerSessionId {v[0]}";
                case MessageCode.IndicatorClientInfoString:
                    return $"-AttackerClientInfoString '{v[0]}'";
                case MessageCode.IndicatorAppId:
                    return $"-AttackerAppId {v[0]}";
                case MessageCode.IndicatorAadSessionId:
                    return $"-AttackerAadSessionId {v[0]}";
                case MessageCode.IdentifierAddress:
                    return $"Address {v[0]}";
                case MessageCode.IdentifierSession:
                    return $"Session {v[0]}";
                case MessageCode.IdentifierEntraSession:
                    return $"Entra session {v[0]}";
                case MessageCode.AttributedByIndicator:
                    return $"{IndicatorVerb(p[0].Code)} {Word(p[0])}";
                case MessageCode.AttributedByLink:
                    return $"its {IdentifierNoun(p[0].Code)} {p[0].Values[0]} is the attacker's";
                case MessageCode.BaselineStartDate:
                    return $"before -StartDate ({v[0]})";
                case MessageCode.BaselineFirstIndicatorMatch:
                    return $"before the first record that matches an indicator ({v[0]})";
                case MessageCode.BaselineKnownActivity:
                    return "before the attacker's known activity";
                case MessageCode.ContextUse:
                    return $"{v[0] ?? "an unknown account"}{(v[1] != null ? $" ({v[1]})" : string.Empty)} first at {v[2]}";
                case MessageCode.MoreContexts:
                    return $"and {v[0]} more";
                default:
                    // A code this shim does not know (the ABI version check should make this
                    // impossible): its data, rather than nothing.
                    return $"{message.Code}: {string.Join(", ", v.Select(value => value ?? "(none)"))}{string.Concat(p.Select(phrase => $" [{Word(phrase)}]"))}";
            }
        }

        /// <summary>How a context matches an indicator, before the indicator's words.</summary>
        private static string IndicatorVerb(MessageCode indicator) => indicator switch
        {
            MessageCode.IndicatorIpAddress => "its address matches",
            MessageCode.IndicatorSessionId => "its session is",
            MessageCode.IndicatorClientInfoString => "its client matches",
            MessageCode.IndicatorAppId => "its application is",
            MessageCode.IndicatorAadSessionId => "its Entra session is",
            _ => "it matches",
        };

        private static string IdentifierNoun(MessageCode identifier) => identifier switch
        {
            MessageCode.IdentifierAddress => "address",
            MessageCode.IdentifierSession => "session",
            MessageCode.IdentifierEntraSession => "Entra session",
            _ => "identifier",
        };

        private static string AddressesOrUnknown(IEnumerable<string?> addresses)
        {
            string[] shown = addresses.Select(a => a ?? string.Empty).ToArray();
            return shown.Length == 0 ? "an unknown address" : string.Join(", ", shown);
        }

        private static string Uses(IEnumerable<EngineMessage> uses) => string.Join(", ", uses.Select(Word));

        private static string Capitalised(string text) =>
            text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text.Substring(1);
    }
}
