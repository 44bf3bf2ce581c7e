<#
.SYNOPSIS
    Writes the module's MAML help from docs/help/*.psd1 and the cmdlets' own metadata.

.DESCRIPTION
    The prose (synopsis, description, parameter descriptions, examples, notes) comes from one
    data file per cmdlet, with parameters common to several cmdlets described once in
    docs/help/_Common.psd1. Everything factual about parameters (type, parameter sets, position,
    pipeline input, wildcards) is read from the built cmdlets, so the help cannot drift from the
    code. Fails when a cmdlet or parameter has no description. Run in a child pwsh: it imports
    the module, which loads the native library.
#>
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $HelpSource,
    [Parameter(Mandatory)] [string] $OutFile
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$module = Import-Module $ModulePath -PassThru -Force
$common = Import-PowerShellDataFile (Join-Path $HelpSource '_Common.psd1')
$commonParameters = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters

function Get-Escaped([string] $Text) { [System.Security.SecurityElement]::Escape($Text) }

function Get-Paragraphs([object] $Text) {
    foreach ($paragraph in @($Text)) {
        "<maml:para>$(Get-Escaped $paragraph)</maml:para>"
    }
}

function Get-TypeName([type] $Type) {
    if ($Type.IsArray) { return "$(Get-TypeName $Type.GetElementType())[]" }
    $Type.Name
}

function Get-PipelineInput($Attributes) {
    $kinds = @()
    if ($Attributes | Where-Object ValueFromPipeline) { $kinds += 'ByValue' }
    if ($Attributes | Where-Object ValueFromPipelineByPropertyName) { $kinds += 'ByPropertyName' }
    if ($kinds) { "True ($($kinds -join ', '))" } else { 'False' }
}

function Get-ParameterXml($Parameter, $SetParameter, [string] $Description) {
    $attributes = @($Parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] })
    $required = if ($SetParameter) { $SetParameter.IsMandatory } else { [bool]($attributes | Where-Object Mandatory) }
    $position = if ($SetParameter -and $SetParameter.Position -ge 0) { $SetParameter.Position } else { 'named' }
    $globbing = [bool]($Parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] })
    $isSwitch = $Parameter.ParameterType -eq [System.Management.Automation.SwitchParameter]
    $typeName = Get-TypeName $Parameter.ParameterType
    $value = if ($isSwitch) { '' } else { "<command:parameterValue required=`"true`" variableLength=`"false`">$(Get-Escaped $typeName)</command:parameterValue>" }
    @"
        <command:parameter required="$($required.ToString().ToLower())" variableLength="true" globbing="$($globbing.ToString().ToLower())" pipelineInput="$(Get-PipelineInput $attributes)" position="$position" aliases="$(if ($Parameter.Aliases.Count) { $Parameter.Aliases -join ', ' } else { 'none' })">
          <maml:name>$($Parameter.Name)</maml:name>
          <maml:description>$(Get-Paragraphs $Description)</maml:description>
          $value
          <dev:type><maml:name>$(Get-Escaped $Parameter.ParameterType.FullName)</maml:name><maml:uri /></dev:type>
          <dev:defaultValue>None</dev:defaultValue>
        </command:parameter>
"@
}

$commands = foreach ($command in Get-Command -Module $module.Name -CommandType Cmdlet | Sort-Object Name) {
    $sourceFile = Join-Path $HelpSource "$($command.Name).psd1"
    if (-not (Test-Path $sourceFile)) { throw "No help source for $($command.Name): $sourceFile" }
    $source = Import-PowerShellDataFile $sourceFile
    $descriptions = @{}
    foreach ($name in $common.Parameters.Keys) { $descriptions[$name] = $common.Parameters[$name] }
    if ($source.ContainsKey('Parameters')) {
        foreach ($name in $source.Parameters.Keys) { $descriptions[$name] = $source.Parameters[$name] }
    }
    $own = $command.Parameters.Values | Where-Object { $_.Name -notin $commonParameters } | Sort-Object Name
    foreach ($parameter in $own) {
        if (-not $descriptions.ContainsKey($parameter.Name)) { throw "$($command.Name) -$($parameter.Name) has no description in $sourceFile or _Common.psd1" }
    }
    $verb, $noun = $command.Name -split '-', 2

    $syntax = foreach ($set in $command.ParameterSets) {
        $items = foreach ($setParameter in $set.Parameters | Where-Object { $_.Name -notin $commonParameters }) {
            Get-ParameterXml $command.Parameters[$setParameter.Name] $setParameter $descriptions[$setParameter.Name]
        }
        "      <command:syntaxItem><maml:name>$($command.Name)</maml:name>`n$($items -join "`n")      </command:syntaxItem>"
    }
    $parameters = foreach ($parameter in $own) { Get-ParameterXml $parameter $null $descriptions[$parameter.Name] }

    $inputs = foreach ($parameter in $own | Where-Object { $_.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and ($_.ValueFromPipeline -or $_.ValueFromPipelineByPropertyName) } }) {
        "      <command:inputType><dev:type><maml:name>$(Get-Escaped $parameter.ParameterType.FullName)</maml:name></dev:type><maml:description>$(Get-Paragraphs $descriptions[$parameter.Name])</maml:description></command:inputType>"
    }
    $outputs = foreach ($type in $command.OutputType) {
        "      <command:returnValue><dev:type><maml:name>$(Get-Escaped $type.Name)</maml:name></dev:type><maml:description>$(Get-Paragraphs $source.Outputs)</maml:description></command:returnValue>"
    }
    $i = 0
    $examples = foreach ($example in $source.Examples) {
        $i++
        @"
      <command:example>
        <maml:title>-------------------------- Example $i --------------------------</maml:title>
        <dev:code>$(Get-Escaped $example.Code)</dev:code>
        <dev:remarks>$(Get-Paragraphs $example.Remarks)</dev:remarks>
      </command:example>
"@
    }
    $notes = if ($source.ContainsKey('Notes')) { "    <maml:alertSet><maml:alert>$(Get-Paragraphs $source.Notes)</maml:alert></maml:alertSet>" } else { '' }
    $links = foreach ($link in @($source.Links) + @('about_MailAccessForensics')) {
        "      <maml:navigationLink><maml:linkText>$(Get-Escaped $link)</maml:linkText><maml:uri /></maml:navigationLink>"
    }
    @"
  <command:command xmlns:maml="http://schemas.microsoft.com/maml/2004/10" xmlns:command="http://schemas.microsoft.com/maml/dev/command/2004/10" xmlns:dev="http://schemas.microsoft.com/maml/dev/2004/10" xmlns:MSHelp="http://msdn.microsoft.com/mshelp">
    <command:details>
      <command:name>$($command.Name)</command:name>
      <command:verb>$verb</command:verb>
      <command:noun>$noun</command:noun>
      <maml:description>$(Get-Paragraphs $source.Synopsis)</maml:description>
    </command:details>
    <maml:description>$(Get-Paragraphs $source.Description)</maml:description>
    <command:syntax>
$($syntax -join "`n")
    </command:syntax>
    <command:parameters>
$($parameters -join "`n")
    </command:parameters>
    <command:inputTypes>
$($inputs -join "`n")
    </command:inputTypes>
    <command:returnValues>
$($outputs -join "`n")
    </command:returnValues>
$notes
    <command:examples>
$($examples -join "`n")
    </command:examples>
    <command:relatedLinks>
$($links -join "`n")
    </command:relatedLinks>
  </command:command>
"@
}

$xml = @"
<?xml version="1.0" encoding="utf-8"?>
<!-- Generated by tools/New-MamlHelp.ps1 from docs/help/*.psd1 and the cmdlets' metadata. Do not edit. -->
<helpItems schema="maml" xmlns="http://msh">
$($commands -join "`n")
</helpItems>
"@
# Well-formed or nothing.
[void][xml]$xml
New-Item -ItemType Directory -Path (Split-Path $OutFile) -Force | Out-Null
Set-Content -Path $OutFile -Value $xml -Encoding utf8
