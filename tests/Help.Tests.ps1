BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModuleUnderTest) -Force
    $script:Cmdlets = @(Get-Command -Module MailAccessForensics -CommandType Cmdlet | ForEach-Object { @{ Name = $_.Name } })
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModuleUnderTest) -Force
    $script:Common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
}

Describe 'Help for <Name>' -ForEach $Cmdlets {
    BeforeAll {
        $script:Help = Get-Help $Name -Full
    }

    It 'has a written synopsis and description' {
        $Help.Synopsis | Should -Not -BeNullOrEmpty
        # Without MAML, Get-Help makes up a synopsis from the syntax.
        $Help.Synopsis | Should -Not -Match "^\s*$([regex]::Escape($Name)) "
        ($Help.description.Text -join ' ').Length | Should -BeGreaterThan 80
    }

    It 'has examples' {
        # Each cmdlet's help has its own number of examples.
        @($Help.examples.example).Count | Should -BeGreaterOrEqual 1
        $Help.examples.example[0].code | Should -Match 'MailAccess|MailItemsAccessed'
    }

    It 'describes every parameter' {
        $parameters = (Get-Command $Name).Parameters.Keys | Where-Object { $_ -notin $Common }
        foreach ($parameter in $parameters) {
            $text = (Get-Help $Name -Parameter $parameter).description.Text -join ' '
            $text | Should -Not -BeNullOrEmpty -Because "-$parameter of $Name needs a description"
        }
    }
}

Describe 'The about topic' {
    It 'explains the four steps' {
        $about = Get-Help about_MailAccessForensics | Out-String
        foreach ($cmdlet in 'Get-MailAccessThrottling', 'Get-MailAccessSync', 'Get-MailAccessContext', 'Get-MailAccessBind') {
            $about | Should -Match $cmdlet
        }
    }
}
