using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TwilioChannel.Web.Data.Migrations
{
    /// <inheritdoc />
    public partial class ReplyAttachments : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "Rank",
                table: "OutboundStatuses",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<string>(
                name: "ZohoOAuthProtected",
                table: "Installations",
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "OutboundMedia",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    OrgId = table.Column<string>(type: "TEXT", nullable: false),
                    ReplyId = table.Column<long>(type: "INTEGER", nullable: false),
                    FileName = table.Column<string>(type: "TEXT", nullable: false),
                    ContentType = table.Column<string>(type: "TEXT", nullable: false),
                    Content = table.Column<byte[]>(type: "BLOB", nullable: false),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_OutboundMedia", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_OutboundMedia_ReplyId",
                table: "OutboundMedia",
                column: "ReplyId");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "OutboundMedia");

            migrationBuilder.DropColumn(
                name: "Rank",
                table: "OutboundStatuses");

            migrationBuilder.DropColumn(
                name: "ZohoOAuthProtected",
                table: "Installations");
        }
    }
}
