using System.Management.Automation;
using MailAccessForensics.Native;

namespace MailAccessForensics
{
    /// <summary>
    /// Runs at Import-Module: loads the native library from the module folder and checks its
    /// ABI version, so a broken installation fails at import with a clear message rather than
    /// at the first record.
    /// </summary>
    public sealed class ModuleInitializer : IModuleAssemblyInitializer
    {
        public void OnImport() => NativeLibraryLoader.EnsureLoaded();
    }
}
