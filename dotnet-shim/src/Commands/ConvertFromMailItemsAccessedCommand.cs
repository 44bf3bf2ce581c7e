using System.Management.Automation;

namespace MailAccessForensics.Commands
{
    /// <summary>
    /// ConvertFrom-MailItemsAccessed: one typed MailAccessRecord per MailItemsAccessed audit
    /// record, whatever shape it came in. Records of other operations are skipped and counted.
    /// </summary>
    [Cmdlet(VerbsData.ConvertFrom, "MailItemsAccessed", DefaultParameterSetName = InputObjectSet)]
    [OutputType(typeof(MailAccessRecord))]
    public sealed class ConvertFromMailItemsAccessedCommand : MailAccessInputCommand
    {
        private protected override bool ReturnRecords => true;

        private protected override void OnRecord(MailAccessRecord record) => WriteObject(record);
    }
}
