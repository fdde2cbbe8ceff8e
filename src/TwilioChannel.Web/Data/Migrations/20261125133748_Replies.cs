using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TwilioChannel.Web.Data.Migrations
{
    /// <inheritdoc />
    public partial class Replies : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "WhatsAppTemplateSid",
                table: "Numbers",
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "OptOuts",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    SenderKey = table.Column<string>(type: "TEXT", nullable: false),
                    CustomerAddress = table.Column<string>(type: "TEXT", nullable: false),
                    OptedOut = table.Column<bool>(type: "INTEGER", nullable: false),
                    UpdatedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_OptOuts", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "OutboundStatuses",
                columns: table => new
                {
                    MessageSid = table.Column<string>(type: "TEXT", nullable: false),
                    ReplyId = table.Column<long>(type: "INTEGER", nullable: true),
                    OrgId = table.Column<string>(type: "TEXT", nullable: true),
                    Status = table.Column<string>(type: "TEXT", nullable: false),
                    ErrorCode = table.Column<int>(type: "INTEGER", nullable: true),
                    ErrorReason = table.Column<string>(type: "TEXT", nullable: true),
                    To = table.Column<string>(type: "TEXT", nullable: true),
                    From = table.Column<string>(type: "TEXT", nullable: true),
                    UpdatedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_OutboundStatuses", x => x.MessageSid);
                });

            migrationBuilder.CreateTable(
                name: "Replies",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    OrgId = table.Column<string>(type: "TEXT", nullable: false),
                    DeskThreadId = table.Column<string>(type: "TEXT", nullable: false),
                    DeskTicketId = table.Column<string>(type: "TEXT", nullable: true),
                    ExtParentId = table.Column<string>(type: "TEXT", nullable: false),
                    To = table.Column<string>(type: "TEXT", nullable: true),
                    From = table.Column<string>(type: "TEXT", nullable: true),
                    MessagingServiceSid = table.Column<string>(type: "TEXT", nullable: true),
                    State = table.Column<int>(type: "INTEGER", nullable: false),
                    Body = table.Column<string>(type: "TEXT", nullable: true),
                    FirstSid = table.Column<string>(type: "TEXT", nullable: true),
                    Sids = table.Column<string>(type: "TEXT", nullable: false),
                    ErrorCode = table.Column<int>(type: "INTEGER", nullable: true),
                    FailureReason = table.Column<string>(type: "TEXT", nullable: true),
                    ResponseStatus = table.Column<int>(type: "INTEGER", nullable: true),
                    ResponseJson = table.Column<string>(type: "TEXT", nullable: true),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    CompletedAt = table.Column<DateTime>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Replies", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_OptOuts_SenderKey_CustomerAddress",
                table: "OptOuts",
                columns: new[] { "SenderKey", "CustomerAddress" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_OutboundStatuses_ReplyId",
                table: "OutboundStatuses",
                column: "ReplyId");

            migrationBuilder.CreateIndex(
                name: "IX_OutboundStatuses_Status_UpdatedAt",
                table: "OutboundStatuses",
                columns: new[] { "Status", "UpdatedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_Replies_OrgId_DeskThreadId",
                table: "Replies",
                columns: new[] { "OrgId", "DeskThreadId" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "OptOuts");

            migrationBuilder.DropTable(
                name: "OutboundStatuses");

            migrationBuilder.DropTable(
                name: "Replies");

            migrationBuilder.DropColumn(
                name: "WhatsAppTemplateSid",
                table: "Numbers");
        }
    }
}
