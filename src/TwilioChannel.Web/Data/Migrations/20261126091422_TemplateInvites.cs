using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TwilioChannel.Web.Data.Migrations
{
    /// <inheritdoc />
    public partial class TemplateInvites : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "TemplateInvites",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    SenderAddress = table.Column<string>(type: "TEXT", nullable: false),
                    CustomerAddress = table.Column<string>(type: "TEXT", nullable: false),
                    OrgId = table.Column<string>(type: "TEXT", nullable: false),
                    ReplyId = table.Column<long>(type: "INTEGER", nullable: false),
                    State = table.Column<int>(type: "INTEGER", nullable: false),
                    StartedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    MessageSid = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_TemplateInvites", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_TemplateInvites_SenderAddress_CustomerAddress",
                table: "TemplateInvites",
                columns: new[] { "SenderAddress", "CustomerAddress" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "TemplateInvites");
        }
    }
}
