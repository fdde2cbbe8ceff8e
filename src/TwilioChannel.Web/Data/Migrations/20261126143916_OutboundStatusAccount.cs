using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TwilioChannel.Web.Data.Migrations
{
    /// <inheritdoc />
    public partial class OutboundStatusAccount : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "AccountSid",
                table: "OutboundStatuses",
                type: "TEXT",
                nullable: true);

            // Replies sent before the column existed: their sending number's account (a reply's From is the number's
            // address or its Messaging Service). Unclaimed rows stay null: nothing tells whose they are.
            migrationBuilder.Sql("""
                UPDATE "OutboundStatuses" SET "AccountSid" = (
                    SELECT n."AccountSid" FROM "Numbers" n
                    WHERE n."OrgId" = "OutboundStatuses"."OrgId"
                      AND (n."Address" = "OutboundStatuses"."From" OR n."MessagingServiceSid" = "OutboundStatuses"."From")
                    LIMIT 1)
                WHERE "ReplyId" IS NOT NULL
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "AccountSid",
                table: "OutboundStatuses");
        }
    }
}
