using System;
using System.Collections;
using System.Linq;
using System.Management.Automation.Language;
using System.Text;
using MailAccessForensics.Retrieval;
using Xunit;

namespace MailAccessForensics.Tests
{
    public class RetrievalScriptTests
    {
        /// <summary>
        /// Parses "$x = &lt;literal&gt;" and returns the value of the one single-quoted string it
        /// must be, decoding a Base64 form.
        /// </summary>
        private static string ReadBack(string value)
        {
            bool encoded = PowerShellLiteral.NeedsEncoding(value);
            string literal = PowerShellLiteral.Quote(encoded ? PowerShellLiteral.Base64(value) : value);
            ScriptBlockAst ast = Parser.ParseInput("$x = " + literal, out Token[] tokens, out ParseError[] errors);
            Assert.Empty(errors);
            Assert.Equal(new[] { TokenKind.Variable, TokenKind.Equals, TokenKind.StringLiteral, TokenKind.EndOfInput }, tokens.Select(t => t.Kind));
            var assignment = (AssignmentStatementAst)Assert.Single(ast.EndBlock.Statements);
            var constant = Assert.IsType<StringConstantExpressionAst>(((CommandExpressionAst)assignment.Right).Expression);
            Assert.Equal(StringConstantType.SingleQuoted, constant.StringConstantType);
            return encoded ? Encoding.UTF8.GetString(Convert.FromBase64String(constant.Value)) : constant.Value;
        }

        [Fact]
        public void EveryCharacterStaysDataInALiteral()
        {
            for (int c = 0; c <= 0xFFFF; c++)
            {
                if (c >= 0xD800 && c <= 0xDFFF)
                {
                    continue;
                }
                string one = ((char)c).ToString();
                string value = "a" + one + "'" + one + one + "$(b)";
                Assert.True(value == ReadBack(value), $"U+{c:X4} did not read back");
            }
            foreach (string value in new[] { "\U0001F600'\U000E0041", "'@\n$x\n@'", "\"@\r\n$(x)\r\n\"@", "`$(x)`", "${env:PATH}", "' + (calc) + '", "" })
            {
                Assert.Equal(value, ReadBack(value));
            }
        }

        [Theory]
        [InlineData("line\nbreak")]
        [InlineData("carriage\rreturn")]
        [InlineData("tab\there")]
        [InlineData("nul\0")]
        [InlineData("rtl\u202Eoverride")]
        [InlineData("zero\u200Bwidth")]
        [InlineData("line\u2028separator")]
        [InlineData("bom\uFEFF")]
        [InlineData("tag\U000E0041")]
        [InlineData("next\u0085line")]
        public void TextThatWouldNotReadAsItIsIsEncoded(string value)
        {
            Assert.True(PowerShellLiteral.NeedsEncoding(value));
        }

        [Theory]
        [InlineData("\\Boîte de réception")]
        [InlineData("‘’‚‛'\"")]
        [InlineData("漢字 \U0001F600")]
        [InlineData("<a+b%2B$(c)@d>")]
        public void PrintableTextIsWrittenAsItIs(string value)
        {
            Assert.False(PowerShellLiteral.NeedsEncoding(value));
        }

        [Fact]
        public void AnUnpairedSurrogateIsFound()
        {
            Assert.True(PowerShellLiteral.HasUnpairedSurrogate("a\uD800b"));
            Assert.True(PowerShellLiteral.HasUnpairedSurrogate("a\uDC00"));
            Assert.False(PowerShellLiteral.HasUnpairedSurrogate("a\U0001F600b"));
        }

        [Fact]
        public void TheScriptHoldsThePlanAsConstantsAndMarkersInValuesStayAsTheyAre()
        {
            var entry = new PlanEntry();
            string[] values = { "{{GENERATOR}}", "# {{PLAN}}", "{{COUNT}}", "a\nb", "‘x’", "$(y)" };
            for (int i = 0; i < values.Length; i++)
            {
                entry.Add("Value" + i, values[i]);
            }
            entry.Add("Missing", null);
            string script = RetrievalScript.Render(new[] { entry }, "MailAccessForensics 9.9.9");

            ScriptBlockAst ast = Parser.ParseInput(script, out _, out ParseError[] errors);
            Assert.Empty(errors);
            Assert.Contains("(MailAccessForensics 9.9.9)", script);
            Assert.Contains("Get-CompromisedMailAccess: 1 retrievals", script);
            var plan = (AssignmentStatementAst)ast.Find(a => a is AssignmentStatementAst s && s.Left.Extent.Text == "$Plan", true);
            object[] data = (object[])((CommandExpressionAst)plan.Right).Expression.SafeGetValue();
            var table = (Hashtable)Assert.Single(data);
            Assert.Equal(values.Length, table.Count);
            for (int i = 0; i < values.Length; i++)
            {
                string? value = table.ContainsKey("Value" + i)
                    ? (string?)table["Value" + i]
                    : Encoding.UTF8.GetString(Convert.FromBase64String((string?)table["Value" + i + "Base64"] ?? ""));
                Assert.Equal(values[i], value);
            }
            Assert.True(table.ContainsKey("Value3Base64"), "a value with a line break is Base64");
            Assert.DoesNotContain("\n", script.Replace("\r\n", ""));
        }

        [Fact]
        public void AnEmptyPlanIsAScriptThatParses()
        {
            string script = RetrievalScript.Render(new PlanEntry[0], "MailAccessForensics 9.9.9");
            Parser.ParseInput(script, out _, out ParseError[] errors);
            Assert.Empty(errors);
            Assert.Contains("$Plan = @(\r\n)", script);
        }

        [Fact]
        public void GraphUriEncodesWhatTheSdkWouldAlter()
        {
            Assert.True(RetrievalPlan.SdkAltersFilter("<a+b@c>"));
            Assert.True(RetrievalPlan.SdkAltersFilter("<a%41@c>"));
            Assert.False(RetrievalPlan.SdkAltersFilter("<a'b@c>"));
            string filter = "internetMessageId eq " + RetrievalPlan.ODataString("<it's+%41@c>");
            Assert.Equal("internetMessageId eq '<it''s+%41@c>'", filter);
            Assert.Equal("v1.0/users/o%27brien%40contoso.example/messages?$filter=internetMessageId%20eq%20%27%3Cit%27%27s%2B%2541%40c%3E%27&$select="
                + RetrievalPlan.MessageProperties + "&$top=100", RetrievalPlan.GraphUri("o'brien@contoso.example", null, filter));
        }

        [Fact]
        public void ListingBoundsRoundUpToTheSecond()
        {
            var exact = new DateTime(2026, 1, 13, 21, 40, 7, DateTimeKind.Utc);
            Assert.Equal("2026-01-13T21:40:07Z", RetrievalPlan.GraphTime(exact));
            Assert.Equal("2026-01-13T21:40:08Z", RetrievalPlan.GraphTime(exact.AddTicks(1)));
        }
    }
}
