using System;

namespace MailAccessForensics.Tests.TestSupport
{
    /// <summary>Audit records written for the tests, shaped like the real ones.</summary>
    internal static class Samples
    {
        /// <summary>2024-03-01T12:34:56Z.</summary>
        internal static readonly DateTime Time = new DateTime(2024, 3, 1, 12, 34, 56, DateTimeKind.Utc);

        /// <summary>
        /// AuditData of a Bind record as Search-UnifiedAuditLog returns it (JSON text), without
        /// MailboxOwnerUPN: a wrapper field of that name can only reach the record if the
        /// wrapper was sent too.
        /// </summary>
        internal static string AuditDataJson(string id = "5b6a0f6e-1c1f-4c55-9d9e-4f3f7f0d2a11", string clientInfo = "Client=OWA;Action=ViaProxy") =>
            "{\"CreationTime\":\"2024-03-01T12:34:56\",\"Id\":\"" + id + "\",\"Operation\":\"MailItemsAccessed\"," +
            "\"OrganizationId\":\"00000000-0000-0000-0000-000000000001\",\"RecordType\":50,\"ResultStatus\":\"Succeeded\"," +
            "\"UserKey\":\"10032000A1B2C3D4\",\"UserType\":0,\"Version\":1,\"Workload\":\"Exchange\"," +
            "\"ClientIP\":\"192.0.2.1\",\"UserId\":\"alice@contoso.example\"," +
            "\"AppId\":\"00000002-0000-0ff1-ce00-000000000000\",\"ClientIPAddress\":\"192.0.2.1\"," +
            "\"ClientInfoString\":\"" + clientInfo + "\",\"ExternalAccess\":false,\"InternalLogonType\":0,\"LogonType\":0," +
            "\"MailboxGuid\":\"0f0e0d0c-0b0a-0908-0706-050403020100\"," +
            "\"OperationProperties\":[{\"Name\":\"MailAccessType\",\"Value\":\"Bind\"},{\"Name\":\"IsThrottled\",\"Value\":\"False\"}]," +
            "\"OperationCount\":2,\"SessionId\":\"dcdad6b2-f279-48c6-9ed8-3df0ffde4ece\"," +
            "\"Folders\":[{\"FolderItems\":[{\"InternetMessageId\":\"<one@contoso.example>\",\"SizeInBytes\":1234}," +
            "{\"InternetMessageId\":\"<two@contoso.example>\",\"SizeInBytes\":99}],\"Id\":\"LgAAAAAM\",\"Path\":\"\\\\Inbox\"}]}";
    }
}
