# The README and the help examples are what users copy: every example must parse, and every
# parameter it gives a cmdlet of the module must exist on that cmdlet (a renamed parameter
# otherwise leaves a README that fails at the user's first command).
BeforeDiscovery {
    $root = Split-Path $PSScriptRoot -Parent
    $readme = Get-Content -Raw -LiteralPath (Join-Path $root 'README.md')
    $script:ReadmeBlocks = @([regex]::Matches($readme, '(?ms)^```powershell\r?\n(.*?)^```') | ForEach-Object -Begin { $n = 0 } -Process {
            $n++
            @{ Name = "README block $n"; Code = $_.Groups[1].Value }
        })
    $script:HelpExamples = @(Get-ChildItem (Join-Path $root 'docs/help') -Filter '*.psd1' | Where-Object Name -NotLike '_*' | ForEach-Object {
            $file = $_
            $n = 0
            foreach ($example in (Import-PowerShellDataFile -LiteralPath $file.FullName).Examples) {
                $n++
                @{ Name = "$($file.BaseName) example $n"; Code = $example.Code }
            }
        })
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModuleUnderTest) -Force
    $script:Root = Split-Path $PSScriptRoot -Parent
    $script:Cmdlets = @{}
    Get-Command -Module MailAccessForensics -CommandType Cmdlet | ForEach-Object { $Cmdlets[$_.Name] = $_ }

    # The problems of one example: parse errors, and parameters that no cmdlet of the module has.
    function Get-ExampleProblem([string] $Code) {
        $tokens = $null; $errors = $null
        $ast = [System.Management.Automation.Language.Parser]::ParseInput($Code, [ref] $tokens, [ref] $errors)
        foreach ($e in $errors) { "parse error: $($e.Message) at '$($e.Extent.Text)'" }
        $calls = $ast.FindAll({ param($node) $node -is [System.Management.Automation.Language.CommandAst] }, $true)
        foreach ($call in $calls) {
            $name = $call.GetCommandName()
            if (-not $name -or -not $Cmdlets.ContainsKey($name)) { continue }
            $parameters = $Cmdlets[$name].Parameters
            foreach ($element in $call.CommandElements) {
                if ($element -isnot [System.Management.Automation.Language.CommandParameterAst]) { continue }
                $given = $element.ParameterName
                $known = $parameters.Keys | Where-Object { $_ -eq $given -or $parameters[$_].Aliases -contains $given }
                if (-not $known) { "$name has no parameter -$given" }
            }
        }
    }
}

Describe 'Get-ExampleProblem' {
    It 'finds a parameter the cmdlet does not have, and a parse error' {
        Get-ExampleProblem 'Get-CompromisedMailAccess -Path .\a.csv -NoSuchParameter 1' | Should -Be 'Get-CompromisedMailAccess has no parameter -NoSuchParameter'
        Get-ExampleProblem 'Get-CompromisedMailAccess -Path (' | Should -Match '^parse error'
        Get-ExampleProblem 'Get-CompromisedMailAccess -Path .\a.csv -AttackerIPAddress 192.0.2.1 -Verbose' | Should -BeNullOrEmpty
    }
}

Describe 'The README' {
    It 'has examples' {
        $ReadmeBlocks.Count | Should -BeGreaterThan 3
    }

    It '<Name> parses and gives only parameters the cmdlets have' -ForEach $ReadmeBlocks {
        Get-ExampleProblem $Code | Should -BeNullOrEmpty
    }

    It 'uses every cmdlet of the module' {
        $readme = Get-Content -Raw -LiteralPath (Join-Path $Root 'README.md')
        $missing = $Cmdlets.Keys | Where-Object { $readme -notmatch "\b$([regex]::Escape($_))\b" }
        $missing | Should -BeNullOrEmpty
    }

    It 'keeps the two commands that set up a fresh machine, and the test command CI runs' {
        $readme = Get-Content -Raw -LiteralPath (Join-Path $Root 'README.md')
        $readme | Should -Match '(?m)^\./build\.ps1 Demo\b'
        $readme | Should -Match '(?m)^\./build\.ps1 Test\b'
        Get-Content -Raw -LiteralPath (Join-Path $Root '.ci/run') | Should -Match 'build\.ps1 Test'
    }

    It 'links only to files that exist' {
        $readme = Get-Content -Raw -LiteralPath (Join-Path $Root 'README.md')
        $links = [regex]::Matches($readme, '\]\(([^)#:]+)(#[^)]*)?\)') | ForEach-Object { $_.Groups[1].Value }
        $links | Should -Not -BeNullOrEmpty
        $links | Where-Object { -not (Test-Path -LiteralPath (Join-Path $Root $_)) } | Should -BeNullOrEmpty
    }
}

Describe 'The help examples' {
    It '<Name> parses and gives only parameters the cmdlets have' -ForEach $HelpExamples {
        Get-ExampleProblem $Code | Should -BeNullOrEmpty
    }
}
